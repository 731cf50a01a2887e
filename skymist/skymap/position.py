"""A localization's position and error region as one value: best fit, 50% and 90% boxes and areas.

Built once, from an analysed scan (the ``localizations`` row) or from a stored
:class:`~skymist.store.product_models.Localization`, and handed to what publishes it (the refined
revision, the Circular, the Slack message), so the field list is written here only. Angles are
J2000 degrees (box extents non-negative, RA extents plain RA degrees), areas square degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

from skymist.skymap.analysis import SkymapAnalysis
from skymist.skymap.numbers import combined_error_deg
from skymist.store.product_models import Localization


@dataclass(frozen=True, slots=True)
class BoxExtent:
    """One containment's box around the best fit, and the region's area."""

    ra_plus_deg: float
    ra_minus_deg: float
    dec_plus_deg: float
    dec_minus_deg: float
    area_deg2: float


@dataclass(frozen=True, slots=True)
class SkyPosition:
    """Best fit, GCN's combined radii (``err50_deg``, ``err90_deg``) and the 50% / 90% boxes."""

    ra_deg: float
    dec_deg: float
    err50_deg: float
    err90_deg: float
    box_50: BoxExtent
    box_90: BoxExtent

    @classmethod
    def from_analysis(cls, analysis: SkymapAnalysis) -> SkyPosition:
        """The position an analysed scan gives: its best fit, boxes, areas and GCN's radii."""
        best, r50, r90 = analysis.best_fit, analysis.region_50, analysis.region_90
        return cls(
            ra_deg=best.ra_deg,
            dec_deg=best.dec_deg,
            err50_deg=combined_error_deg(r50.box, best.dec_deg),
            err90_deg=combined_error_deg(r90.box, best.dec_deg),
            box_50=BoxExtent(
                r50.box.ra_plus_deg,
                r50.box.ra_minus_deg,
                r50.box.dec_plus_deg,
                r50.box.dec_minus_deg,
                r50.area_deg2,
            ),
            box_90=BoxExtent(
                r90.box.ra_plus_deg,
                r90.box.ra_minus_deg,
                r90.box.dec_plus_deg,
                r90.box.dec_minus_deg,
                r90.area_deg2,
            ),
        )

    @classmethod
    def of(cls, loc: Localization) -> SkyPosition:
        """The position a stored localization states."""
        return cls(
            ra_deg=loc.ra_deg,
            dec_deg=loc.dec_deg,
            err50_deg=loc.err50_deg,
            err90_deg=loc.err90_deg,
            box_50=BoxExtent(
                loc.ra_plus_50_deg,
                loc.ra_minus_50_deg,
                loc.dec_plus_50_deg,
                loc.dec_minus_50_deg,
                loc.area_50_deg2,
            ),
            box_90=BoxExtent(
                loc.ra_plus_90_deg,
                loc.ra_minus_90_deg,
                loc.dec_plus_90_deg,
                loc.dec_minus_90_deg,
                loc.area_90_deg2,
            ),
        )

    def as_columns(self) -> dict[str, float]:
        """The ``localizations`` columns of the position (names as stored)."""
        columns = {"ra_deg": self.ra_deg, "dec_deg": self.dec_deg}
        columns |= {"err50_deg": self.err50_deg, "err90_deg": self.err90_deg}
        for level, box in (("50", self.box_50), ("90", self.box_90)):
            columns |= {
                f"ra_plus_{level}_deg": box.ra_plus_deg,
                f"ra_minus_{level}_deg": box.ra_minus_deg,
                f"dec_plus_{level}_deg": box.dec_plus_deg,
                f"dec_minus_{level}_deg": box.dec_minus_deg,
                f"area_{level}_deg2": box.area_deg2,
            }
        return columns

    def template_vars(self) -> dict[str, float]:
        """What the message templates show: RA in [0, 360), the 90% box, both radii and both areas."""
        box = self.box_90
        return {
            "ra_deg": self.ra_deg % 360.0,
            "dec_deg": self.dec_deg,
            "ra_plus_90_deg": box.ra_plus_deg,
            "ra_minus_90_deg": box.ra_minus_deg,
            "dec_plus_90_deg": box.dec_plus_deg,
            "dec_minus_90_deg": box.dec_minus_deg,
            "err50_deg": self.err50_deg,
            "err90_deg": self.err90_deg,
            "area_50_deg2": self.box_50.area_deg2,
            "area_90_deg2": box.area_deg2,
        }

    def circular_vars(self) -> dict[str, float]:
        """What the track Circular states: the best fit and the 90% box and area (its own names)."""
        box = self.box_90
        return {
            "ra_deg": self.ra_deg,
            "dec_deg": self.dec_deg,
            "ra_plus_deg": box.ra_plus_deg,
            "ra_minus_deg": box.ra_minus_deg,
            "dec_plus_deg": box.dec_plus_deg,
            "dec_minus_deg": box.dec_minus_deg,
            "area_90_deg2": box.area_deg2,
        }
