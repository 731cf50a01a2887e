"""All skymap files of one analysis: flat FITS, multi-order FITS, the PNG and its PDF, named consistently."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skymist.files import WrittenFile, path_inside
from skymist.skymap.analysis import SkymapAnalysis
from skymist.skymap.fits_flat import FlatColumn, write_flat_fits
from skymist.skymap.fits_moc import write_moc_fits
from skymist.skymap.picture import ComparisonPosition, write_png_and_pdf

__all__ = ["SkymapProducts", "product_stem", "write_fits_products", "write_products"]


@dataclass(frozen=True, slots=True)
class SkymapProducts:
    """The files written for one analysis (each complete, with its sha256)."""

    flat_fits: WrittenFile
    multiorder_fits: WrittenFile
    png: WrittenFile | None
    #: the same picture as PDF (vector, for publications), beside the PNG
    pdf: WrittenFile | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "flat_fits": self.flat_fits.to_dict(),
            "multiorder_fits": self.multiorder_fits.to_dict(),
            "png": self.png.to_dict() if self.png is not None else None,
            "pdf": self.pdf.to_dict() if self.pdf is not None else None,
        }


def product_stem(analysis: SkymapAnalysis) -> str:
    """``run00136662.evt000035405932.neutrino_8_64_512`` (skyreader's naming), else the source's name."""
    meta = analysis.metadata
    nsides = "_".join(str(n) for n in analysis.nsides)
    if meta.run_id is not None and meta.event_id is not None:
        kind = re.sub(r"[^A-Za-z0-9-]+", "-", meta.event_type or "event")
        return f"run{meta.run_id:08d}.evt{meta.event_id:012d}.{kind}_{nsides}"
    stem = Path(analysis.source).name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem) or "skymap"


def write_fits_products(
    analysis: SkymapAnalysis, out_dir: str | Path, flat_column: FlatColumn | None = None
) -> tuple[WrittenFile, WrittenFile]:
    """Write the flat map (``2DLLH``, or ``PROB`` for ``hpd``) and the multi-order map into ``out_dir``."""
    directory = Path(out_dir)
    stem = product_stem(analysis)
    column: FlatColumn = flat_column or ("PROB" if analysis.thresholds.kind == "credible" else "2DLLH")
    kind = "probability" if column == "PROB" else "llh"
    flat = write_flat_fits(
        analysis, path_inside(directory, f"{stem}.skymap_nside_{analysis.max_nside}_{kind}.fits.gz"), column
    )
    moc = write_moc_fits(analysis, path_inside(directory, f"{stem}.skymap.multiorder.fits.gz"))
    return flat, moc


def write_products(
    analysis: SkymapAnalysis,
    out_dir: str | Path,
    *,
    png: bool = True,
    comparison: ComparisonPosition | None = None,
    flat_column: FlatColumn | None = None,
) -> SkymapProducts:
    """Write the flat map (``2DLLH``, or ``PROB`` for ``hpd``), the multi-order map, and with ``png``
    the picture as PNG (150 dpi) and as PDF beside it."""
    flat, moc = write_fits_products(analysis, out_dir, flat_column)
    if not png:
        return SkymapProducts(flat_fits=flat, multiorder_fits=moc, png=None)
    picture = path_inside(out_dir, f"{product_stem(analysis)}.skymap.png")
    png_file, pdf_file = write_png_and_pdf(analysis, picture, comparison)
    return SkymapProducts(flat_fits=flat, multiorder_fits=moc, png=png_file, pdf=pdf_file)
