"""Analyse a scan result: best fit, 50% / 90% regions, error boxes, areas and contours."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skymist.skymap.contours import region_contours
from skymist.skymap.density import DensityCalibration, calibrated_mass, hpd_calibration
from skymist.skymap.drawn_region import drawn_region
from skymist.skymap.errorbox import error_box
from skymist.skymap.model import (
    BestFit,
    PixelConvention,
    Region,
    ScanMetadata,
    ScanResult,
    SourceFormat,
    ThresholdSet,
    threshold_set,
)
from skymist.skymap.multires import MultiOrderMap, build_multiorder
from skymist.skymap.reader import read_scan
from skymist.skymap.regions import probability_mass, select_region

__all__ = ["SkymapAnalysis", "analyze_path", "analyze_scan"]


@dataclass(frozen=True, eq=False, slots=True)
class SkymapAnalysis:
    """Everything the products need from one scan, with the threshold set that made it."""

    thresholds: ThresholdSet
    best_fit: BestFit
    region_50: Region
    region_90: Region
    metadata: ScanMetadata
    source: str
    source_format: SourceFormat
    #: convention of the source's pixel indices, and why it was chosen
    pixel_convention: PixelConvention
    convention_reason: str
    nsides: tuple[int, ...]
    n_scanned_pixels: int
    multiorder: MultiOrderMap = field(repr=False)
    #: the multi-order pixels of the 50% and 90% regions
    mask_50: NDArray[np.bool_] = field(repr=False, default_factory=lambda: np.zeros(0, dtype=bool))
    mask_90: NDArray[np.bool_] = field(repr=False, default_factory=lambda: np.zeros(0, dtype=bool))
    #: probability of each multi-order pixel under the published density (sum 1), consistent with the
    #: regions (see :mod:`skymist.skymap.density`), and how that density was made
    probability: NDArray[np.float64] = field(repr=False, default_factory=lambda: np.zeros(0))
    calibration: DensityCalibration | None = None

    # flat accessors with units, for catalogue rows and headers
    @property
    def ra_deg(self) -> float:
        return self.best_fit.ra_deg

    @property
    def dec_deg(self) -> float:
        return self.best_fit.dec_deg

    @property
    def area_50_deg2(self) -> float:
        return self.region_50.area_deg2

    @property
    def area_90_deg2(self) -> float:
        return self.region_90.area_deg2

    @property
    def max_nside(self) -> int:
        return self.multiorder.max_nside

    def to_dict(self, with_contours: bool = True) -> dict[str, Any]:
        """A JSON-ready summary (contours optional)."""
        return {
            "source": self.source,
            "source_format": str(self.source_format),
            "pixel_convention": str(self.pixel_convention),
            "pixel_convention_formula": self.pixel_convention.formula,
            "pixel_convention_reason": self.convention_reason,
            "metadata": self.metadata.to_dict(),
            "nsides": list(self.nsides),
            "n_scanned_pixels": self.n_scanned_pixels,
            "max_nside": self.max_nside,
            "thresholds": self.thresholds.to_dict(),
            "best_fit": self.best_fit.to_dict(),
            "ra_deg": self.ra_deg,
            "dec_deg": self.dec_deg,
            "area_50_deg2": self.area_50_deg2,
            "area_90_deg2": self.area_90_deg2,
            "region_50": self.region_50.to_dict(with_contours),
            "region_90": self.region_90.to_dict(with_contours),
            "density": None if self.calibration is None else self.calibration.describe(),
        }


def analyze_scan(
    scan: ScanResult,
    thresholds: str | ThresholdSet = "calibrated",
    *,
    metadata: ScanMetadata | None = None,
    with_contours: bool = True,
) -> SkymapAnalysis:
    """Analyse ``scan`` with the named threshold set (``wilks``, ``calibrated`` or ``hpd``).

    ``metadata`` (e.g. from the alert record) takes precedence over the result's own; fields it
    leaves ``None`` are taken from the result.
    """
    tset = thresholds if isinstance(thresholds, ThresholdSet) else threshold_set(thresholds)
    moc = build_multiorder(scan)
    mass = probability_mass(moc)
    regions: list[Region] = []
    masks: list[NDArray[np.bool_]] = []
    for which in (0.5, 0.9):
        pixels = select_region(moc, tset, which, mass)
        masks.append(pixels.mask)
        box = error_box(moc, pixels.mask)
        regions.append(
            Region(
                threshold_set=tset.name,
                containment=which,
                two_delta_llh_level=pixels.two_delta_llh_level,
                area_deg2=pixels.area_deg2,
                n_fine_pixels=pixels.n_fine_pixels,
                probability=pixels.probability,
                box=box,
                contours=region_contours(moc, drawn_region(moc, pixels.mask)) if with_contours else (),
            )
        )
    if tset.kind == "credible":
        published, calibration = mass, hpd_calibration(mass, masks[0], masks[1])
    else:
        published, calibration = calibrated_mass(moc, masks[0], masks[1], regions[0].two_delta_llh_level)
    meta = scan.metadata if metadata is None else metadata.merged(scan.metadata)
    return SkymapAnalysis(
        thresholds=tset,
        best_fit=moc.best_fit,
        region_50=regions[0],
        region_90=regions[1],
        metadata=meta,
        source=scan.source,
        source_format=scan.source_format,
        pixel_convention=scan.pixel_convention,
        convention_reason=scan.convention_reason,
        nsides=scan.nsides,
        n_scanned_pixels=scan.n_pixels,
        multiorder=moc,
        mask_50=masks[0],
        mask_90=masks[1],
        probability=published,
        calibration=calibration,
    )


def analyze_path(
    path: str | Path,
    thresholds: str | ThresholdSet = "calibrated",
    *,
    convention: PixelConvention | None = None,
    metadata: ScanMetadata | None = None,
    with_contours: bool = True,
) -> SkymapAnalysis:
    """Read a scan result file and analyse it (see :func:`analyze_scan`)."""
    scan = read_scan(path, convention=convention)
    return analyze_scan(scan, thresholds, metadata=metadata, with_contours=with_contours)
