"""The skymap picture for people: a full-sky view and a zoom on the 50% / 90% regions.

Drawn with matplotlib's object API on the Agg canvas chosen inside :func:`render_png` (nothing
is imported or configured at module import, and pyplot's global state is never touched).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skymist.skymap.analysis import SkymapAnalysis
from skymist.skymap.atomic import WrittenFile, write_atomic
from skymist.skymap.errorbox import ra_offset_deg
from skymist.skymap.model import ErrorBox

__all__ = ["ComparisonPosition", "render_png", "write_png"]

_COLORS = {0.5: "black", 0.9: "red"}


@dataclass(frozen=True, slots=True)
class ComparisonPosition:
    """An extra position to show (e.g. the Rev 0 / online direction)."""

    ra_deg: float
    dec_deg: float
    label: str = "Rev 0"


def _ts_on_grid(
    analysis: SkymapAnalysis, ra: NDArray[np.float64], dec: NDArray[np.float64]
) -> NDArray[np.float64]:
    moc = analysis.multiorder
    ra_grid, dec_grid = np.meshgrid(ra, dec)
    idx = moc.lookup_radec(ra_grid.ravel(), dec_grid.ravel())
    values: NDArray[np.float64] = moc.two_delta_llh[idx].reshape(ra_grid.shape)
    return values


def _mollweide_x(ra_deg: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mollweide longitude (radians) with RA 180 in the middle and RA growing to the left."""
    result: NDArray[np.float64] = np.radians(180.0 - np.mod(ra_deg, 360.0))
    return result


def _split_wrap(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Insert NaN where a line jumps across the plot edge."""
    jumps = np.flatnonzero(np.abs(np.diff(x)) > np.pi) + 1
    return np.insert(x, jumps, np.nan), np.insert(y, jumps, np.nan)


def _zoom_extent(
    analysis: SkymapAnalysis, extra: ComparisonPosition | None
) -> tuple[float, float, float, float]:
    """(RA low, RA high, Dec low, Dec high) in degrees, RA continuous around the best fit."""
    best = analysis.best_fit
    box = analysis.region_90.box
    cos_dec = max(math.cos(math.radians(best.dec_deg)), 0.05)
    ra_lo = -max(box.ra_minus_deg * 1.3, 1.5 / cos_dec)
    ra_hi = max(box.ra_plus_deg * 1.3, 1.5 / cos_dec)
    dec_lo = -max(box.dec_minus_deg * 1.3, 1.5)
    dec_hi = max(box.dec_plus_deg * 1.3, 1.5)
    if extra is not None:
        dra = float(ra_offset_deg(np.array([extra.ra_deg]), best.ra_deg)[0])
        ddec = extra.dec_deg - best.dec_deg
        if abs(dra) * cos_dec < 15.0 and abs(ddec) < 15.0:  # show it when it is near
            ra_lo, ra_hi = min(ra_lo, dra - 0.5 / cos_dec), max(ra_hi, dra + 0.5 / cos_dec)
            dec_lo, dec_hi = min(dec_lo, ddec - 0.5), max(dec_hi, ddec + 0.5)
    ra_half = min(max(-ra_lo, ra_hi), 180.0)
    dec_lo = max(best.dec_deg + dec_lo, -90.0)
    dec_hi = min(best.dec_deg + dec_hi, 90.0)
    return best.ra_deg - ra_half, best.ra_deg + ra_half, dec_lo, dec_hi


def _box_xy(ra0: float, dec0: float, box: ErrorBox) -> tuple[list[float], list[float]]:
    x0, x1 = ra0 - box.ra_minus_deg, ra0 + box.ra_plus_deg
    y0, y1 = dec0 - box.dec_minus_deg, dec0 + box.dec_plus_deg
    return [x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0]


def _title(analysis: SkymapAnalysis) -> str:
    meta = analysis.metadata
    parts = []
    if meta.run_id is not None and meta.event_id is not None:
        parts.append(f"Run {meta.run_id} Event {meta.event_id}")
    if meta.mjd is not None and math.isfinite(meta.mjd):
        parts.append(f"MJD {meta.mjd:.5f}")
    parts.append(f"regions: {analysis.thresholds.name}")
    return "  |  ".join(parts)


def render_png(
    analysis: SkymapAnalysis, comparison: ComparisonPosition | None = None, dpi: int = 110
) -> bytes:
    """The picture as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    best = analysis.best_fit
    regions = (analysis.region_50, analysis.region_90)
    vmax = max(2.0 * analysis.region_90.two_delta_llh_level, 10.0)

    fig = Figure(figsize=(9.0, 9.0), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(_title(analysis), fontsize=10)
    ax_sky = fig.add_subplot(2, 1, 1, projection="mollweide")
    ax_zoom = fig.add_subplot(2, 1, 2)

    # --- full sky: a regular grid in Mollweide longitude x = 180 deg - RA
    x_edges = np.linspace(-np.pi, np.pi, 721)
    dec_edges = np.linspace(-90.0, 90.0, 361)
    ra_c = np.mod(180.0 - np.degrees(0.5 * (x_edges[1:] + x_edges[:-1])), 360.0)
    dec_c = 0.5 * (dec_edges[1:] + dec_edges[:-1])
    ts = _ts_on_grid(analysis, ra_c, dec_c)
    # logarithmic scale: 2 Delta llh spans thousands over the sky
    finite = ts[np.isfinite(ts)]
    sky_max = float(finite.max()) + 1.0 if finite.size else 10.0
    mesh = ax_sky.pcolormesh(
        x_edges,
        np.radians(dec_edges),
        np.ma.masked_invalid(ts + 1.0),
        cmap="plasma_r",
        norm=LogNorm(vmin=1.0, vmax=max(sky_max, 10.0)),
        shading="flat",
        rasterized=True,
    )
    fig.colorbar(mesh, ax=ax_sky, orientation="vertical", shrink=0.7, label=r"$1 + 2\Delta\ln L$")
    for region in regions:
        for contour in region.contours:
            x, y = _split_wrap(_mollweide_x(contour.ra_deg), np.radians(contour.dec_deg))
            ax_sky.plot(x, y, color=_COLORS[region.containment], lw=1.0)
    ax_sky.plot(_mollweide_x(np.array([best.ra_deg])), [math.radians(best.dec_deg)], "*", color="cyan", ms=9)
    if comparison is not None:
        ax_sky.plot(
            _mollweide_x(np.array([comparison.ra_deg])),
            [math.radians(comparison.dec_deg)],
            "x",
            color="magenta",
            ms=8,
        )
    ax_sky.grid(True, alpha=0.4)
    ticks = np.radians(np.arange(-150, 181, 30))
    ax_sky.set_xticks(ticks)
    ax_sky.set_xticklabels(
        [f"{(180 - round(math.degrees(t))) % 360:d}°" for t in ticks], fontsize=6, color="white"
    )
    ax_sky.set_title("Full sky (J2000; RA grows to the left)", fontsize=9)

    # --- zoom
    ra_lo, ra_hi, dec_lo, dec_hi = _zoom_extent(analysis, comparison)
    n_ra, n_dec = 480, 360
    ra_z = np.linspace(ra_lo, ra_hi, n_ra)
    dec_z = np.linspace(dec_lo, dec_hi, n_dec)
    ts_z = np.ma.masked_invalid(_ts_on_grid(analysis, ra_z, dec_z))
    mesh_z = ax_zoom.pcolormesh(
        ra_z, dec_z, ts_z, cmap="plasma_r", vmin=0.0, vmax=vmax, shading="nearest", rasterized=True
    )
    fig.colorbar(
        mesh_z, ax=ax_zoom, orientation="vertical", shrink=0.8, extend="max", label=r"$2\Delta\ln L$"
    )
    handles: list[Any] = []
    for region in regions:
        color = _COLORS[region.containment]
        label = (
            f"{round(region.containment * 100)}% ({analysis.thresholds.name}, 2ΔLLH ≤ "
            f"{region.two_delta_llh_level:.2f}): {region.area_deg2:.2f} deg²"
        )
        for contour in region.contours:
            ax_zoom.plot(contour.ra_deg, contour.dec_deg, color=color, lw=1.6)
        bx, by = _box_xy(best.ra_deg, best.dec_deg, region.box)
        ax_zoom.plot(bx, by, color=color, lw=0.9, ls="--")
        handles.append(Line2D([], [], color=color, lw=1.6, label=label))
        b = region.box
        handles.append(
            Line2D(
                [],
                [],
                color=color,
                lw=0.9,
                ls="--",
                label=(
                    f"{round(region.containment * 100)}% box: RA +{b.ra_plus_deg:.2f}/-{b.ra_minus_deg:.2f}, "
                    f"Dec +{b.dec_plus_deg:.2f}/-{b.dec_minus_deg:.2f}"
                ),
            )
        )
    ax_zoom.plot([best.ra_deg], [best.dec_deg], "*", color="cyan", mec="black", ms=13)
    handles.append(
        Line2D(
            [],
            [],
            marker="*",
            color="cyan",
            mec="black",
            ls="",
            ms=11,
            label=f"best fit RA {best.ra_deg:.2f}°, Dec {best.dec_deg:+.2f}°",
        )
    )
    if comparison is not None:
        dra = float(ra_offset_deg(np.array([comparison.ra_deg]), best.ra_deg)[0])
        ax_zoom.plot([best.ra_deg + dra], [comparison.dec_deg], "x", color="magenta", ms=11, mew=2)
        handles.append(
            Line2D(
                [],
                [],
                marker="x",
                color="magenta",
                ls="",
                ms=9,
                mew=2,
                label=f"{comparison.label} RA {comparison.ra_deg:.2f}°, Dec {comparison.dec_deg:+.2f}°",
            )
        )
    ax_zoom.set_xlim(ra_hi, ra_lo)  # RA grows to the left
    ax_zoom.set_ylim(dec_lo, dec_hi)
    ax_zoom.set_aspect(1.0 / max(math.cos(math.radians(best.dec_deg)), 0.05), adjustable="box")
    ax_zoom.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v % 360:.1f}°"))
    ax_zoom.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.1f}°"))
    ax_zoom.set_xlabel("Right ascension (J2000)")
    ax_zoom.set_ylabel("Declination (J2000)")
    ax_zoom.grid(True, alpha=0.35)
    fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncol=2)

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def write_png(
    analysis: SkymapAnalysis, path: str | Path, comparison: ComparisonPosition | None = None, dpi: int = 110
) -> WrittenFile:
    """Render the picture and write it atomically."""
    return write_atomic(path, render_png(analysis, comparison, dpi), "image/png")
