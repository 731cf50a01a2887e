"""The skymap picture for people: a full-sky view and a zoom on the 50% / 90% regions.

Drawn with matplotlib's object API on the Agg canvas chosen inside :func:`render_png` (nothing
is imported or configured at module import, and pyplot's global state is never touched).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from skymist.files import WrittenFile, write_atomic
from skymist.skymap.analysis import SkymapAnalysis
from skymist.skymap.errorbox import ra_offset_deg
from skymist.skymap.model import ErrorBox, Region

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

__all__ = [
    "ComparisonPosition",
    "render_pictures",
    "render_png",
    "write_pdf",
    "write_png",
    "write_png_and_pdf",
]

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
    """(RA low, RA high, Dec low, Dec high) in degrees around the 90% box (and ``extra`` when near),
    RA continuous around the best fit."""
    best = analysis.best_fit
    box = analysis.region_90.box
    cos_dec = max(math.cos(math.radians(best.dec_deg)), 0.05)
    # a quarter more than the box each way, at least half a degree
    ra_lo = -max(box.ra_minus_deg * 1.25, 0.5 / cos_dec)
    ra_hi = max(box.ra_plus_deg * 1.25, 0.5 / cos_dec)
    dec_lo = -max(box.dec_minus_deg * 1.25, 0.5)
    dec_hi = max(box.dec_plus_deg * 1.25, 0.5)
    if extra is not None:
        dra = float(ra_offset_deg(np.array([extra.ra_deg]), best.ra_deg)[0])
        ddec = extra.dec_deg - best.dec_deg
        if abs(dra) * cos_dec < 15.0 and abs(ddec) < 15.0:  # show it when it is near
            ra_lo, ra_hi = min(ra_lo, dra - 0.5 / cos_dec), max(ra_hi, dra + 0.5 / cos_dec)
            dec_lo, dec_hi = min(dec_lo, ddec - 0.5), max(dec_hi, ddec + 0.5)
    ra_lo, ra_hi = max(ra_lo, -180.0), min(ra_hi, 180.0)
    return best.ra_deg + ra_lo, best.ra_deg + ra_hi, best.dec_deg + dec_lo, best.dec_deg + dec_hi


def _fill_panel(
    extent: tuple[float, float, float, float], panel_ratio: float, cos_dec: float
) -> tuple[float, float, float, float]:
    """Widen ``extent`` on one axis so that, at equal angles on the sky (1 deg Dec = 1 deg RA times
    cos Dec), it has the panel's width / height ratio: the map fills the whole panel."""
    ra_lo, ra_hi, dec_lo, dec_hi = extent
    ra_mid, dec_mid = 0.5 * (ra_lo + ra_hi), 0.5 * (dec_lo + dec_hi)
    width_sky, height = (ra_hi - ra_lo) * cos_dec, dec_hi - dec_lo
    if width_sky < panel_ratio * height:
        width_sky = panel_ratio * height
    else:
        height = width_sky / panel_ratio
    half_ra = min(0.5 * width_sky / cos_dec, 180.0)
    dec_lo, dec_hi = dec_mid - 0.5 * height, dec_mid + 0.5 * height
    if dec_lo < -90.0:  # keep the height, inside the sphere
        dec_lo, dec_hi = -90.0, min(-90.0 + height, 90.0)
    elif dec_hi > 90.0:
        dec_lo, dec_hi = max(90.0 - height, -90.0), 90.0
    return ra_mid - half_ra, ra_mid + half_ra, dec_lo, dec_hi


def _degrees(value: float, wrap: bool) -> str:
    """A tick label: ``47.5°``, ``−3°`` (a true minus sign), RA wrapped into [0, 360)."""
    v = value % 360.0 if wrap else value
    if abs(v) < 5e-3 or abs(v - 360.0) < 5e-3:
        v = 0.0
    text = f"{abs(v):.2f}".rstrip("0").rstrip(".")
    return ("\u2212" if v < 0 else "") + text + "°"


def _box_xy(ra0: float, dec0: float, box: ErrorBox) -> tuple[list[float], list[float]]:
    x0, x1 = ra0 - box.ra_minus_deg, ra0 + box.ra_plus_deg
    y0, y1 = dec0 - box.dec_minus_deg, dec0 + box.dec_plus_deg
    return [x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0]


def _title(analysis: SkymapAnalysis) -> str:
    """Two lines: what people call the map (else run and event), then what it was made from."""
    meta = analysis.metadata
    details: list[str] = []
    if meta.run_id is not None and meta.event_id is not None:
        details.append(f"Run {meta.run_id} Event {meta.event_id}")
    if meta.mjd is not None and math.isfinite(meta.mjd):
        details.append(f"MJD {meta.mjd:.5f}")
    details.append(f"regions: {analysis.thresholds.name}")
    if meta.reco_algo:
        details.append(f"reco: {meta.reco_algo}" + (f" ({meta.reco_kind})" if meta.reco_kind else ""))
    head = meta.label or (details.pop(0) if len(details) > 1 else "IceCube skymap")
    return head + "\n" + "  |  ".join(details)


def _legend_handles(analysis: SkymapAnalysis, comparison: ComparisonPosition | None) -> list[Line2D]:
    from matplotlib.lines import Line2D

    best = analysis.best_fit
    handles: list[Line2D] = []
    for region in (analysis.region_50, analysis.region_90):
        handles += _region_handles(analysis, region)
    handles.append(
        Line2D(
            [],
            [],
            marker="*",
            color="cyan",
            mec="black",
            ls="",
            ms=12,
            label=f"best fit RA {best.ra_deg:.2f}°, Dec {best.dec_deg:+.2f}°".replace("-", "−"),
        )
    )
    if comparison is not None:
        handles.append(
            Line2D(
                [],
                [],
                marker="x",
                color="magenta",
                ls="",
                ms=10,
                mew=2,
                label=(
                    f"{comparison.label} RA {comparison.ra_deg:.2f}°, Dec {comparison.dec_deg:+.2f}°"
                ).replace("-", "−"),
            )
        )
    return handles


def _region_handles(analysis: SkymapAnalysis, region: Region) -> list[Line2D]:
    """A credible region's two legend lines: its contour (level and area) and its error box."""
    from matplotlib.lines import Line2D

    color = _COLORS[region.containment]
    pct = round(region.containment * 100)
    b = region.box
    return [
        Line2D(
            [],
            [],
            color=color,
            lw=1.8,
            label=(
                f"{pct}% ({analysis.thresholds.name}, 2ΔLLH ≤ {region.two_delta_llh_level:.2f}): "
                f"{region.area_deg2:.2f} deg²"
            ),
        ),
        Line2D(
            [],
            [],
            color=color,
            lw=1.0,
            ls="--",
            label=(
                f"{pct}% box: RA +{b.ra_plus_deg:.2f}/−{b.ra_minus_deg:.2f}°, "
                f"Dec +{b.dec_plus_deg:.2f}/−{b.dec_minus_deg:.2f}°"
            ),
        ),
    ]


def render_png(
    analysis: SkymapAnalysis,
    comparison: ComparisonPosition | None = None,
    dpi: int = 150,
    image_format: str = "png",
) -> bytes:
    """The picture as PNG bytes (150 dpi for publication), or PDF with ``image_format="pdf"``."""
    return render_pictures(analysis, comparison, dpi, (image_format,))[image_format]


def render_pictures(
    analysis: SkymapAnalysis,
    comparison: ComparisonPosition | None = None,
    dpi: int = 150,
    image_formats: tuple[str, ...] = ("png", "pdf"),
) -> dict[str, bytes]:
    """The picture drawn once and saved in each of ``image_formats`` (PNG at ``dpi``, PDF as vectors):
    drawing the sky and the zoom is most of the cost, so the PNG and the PDF share one figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    vmax = max(2.0 * analysis.region_90.two_delta_llh_level, 10.0)
    fig = Figure(figsize=(9.0, 9.0), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    head, details = _title(analysis).split("\n", 1)
    fig.suptitle(head, fontsize=13, fontweight="bold")
    grid = fig.add_gridspec(2, 1, height_ratios=(1.0, 1.1))
    ax_sky = fig.add_subplot(grid[0], projection="mollweide")
    ax_zoom = fig.add_subplot(grid[1])
    _draw_sky(fig, ax_sky, analysis, comparison, details)
    zoom_norm = Normalize(vmin=0.0, vmax=vmax)
    # framing the zoom draws the figure twice to learn its panel's size: the sky's mesh (most of a
    # draw, and inside its panel: no part of the layout) is left out of those two draws
    meshes = [artist for artist in ax_sky.collections if artist.get_visible()]
    for artist in meshes:
        artist.set_visible(False)
    view = _frame_zoom(fig, ax_zoom, analysis, comparison, zoom_norm)
    for artist in meshes:
        artist.set_visible(True)
    _draw_zoom(ax_zoom, analysis, comparison, view, zoom_norm)
    pictures: dict[str, bytes] = {}
    for image_format in image_formats:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=image_format, dpi=dpi)
        pictures[image_format] = buffer.getvalue()
    return pictures


#: both colorbars: insets beside their panel, exactly its height
_COLORBAR_BOX = (1.025, 0.0, 0.03, 1.0)


def _draw_sky(
    fig: Figure, ax_sky: Axes, analysis: SkymapAnalysis, comparison: ComparisonPosition | None, details: str
) -> None:
    """The full sky: a regular grid in Mollweide longitude x = 180 deg - RA."""
    from matplotlib.colors import LogNorm

    best = analysis.best_fit
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
    sky_bar = fig.colorbar(mesh, cax=ax_sky.inset_axes(_COLORBAR_BOX), orientation="vertical")
    sky_bar.set_label(r"$1 + 2\Delta\ln L$", fontsize=10)
    sky_bar.ax.tick_params(labelsize=9)
    for region in (analysis.region_50, analysis.region_90):
        for contour in region.contours:
            x, y = _split_wrap(_mollweide_x(contour.ra_deg), np.radians(contour.dec_deg))
            ax_sky.plot(x, y, color=_COLORS[region.containment], lw=1.0)
    best_x = _mollweide_x(np.array([best.ra_deg]))
    ax_sky.plot(best_x, [math.radians(best.dec_deg)], "*", color="cyan", mec="black", ms=11)
    if comparison is not None:
        ax_sky.plot(
            _mollweide_x(np.array([comparison.ra_deg])),
            [math.radians(comparison.dec_deg)],
            "x",
            color="magenta",
            ms=8,
            mew=1.5,
        )
    _sky_ticks(ax_sky)
    ax_sky.set_title(f"{details}\nFull sky (J2000; RA grows to the left)", fontsize=10)


def _sky_ticks(ax_sky: Axes) -> None:
    ax_sky.grid(True, alpha=0.4)
    ticks = np.radians(np.arange(-150, 181, 30))
    ax_sky.set_xticks(ticks)
    # every other meridian labelled, none at the plot's edge (where a label is clipped)
    ax_sky.set_xticklabels(
        [
            f"{(180 - round(math.degrees(t))) % 360:d}°"
            if round(math.degrees(t)) % 60 == 0 and abs(round(math.degrees(t))) < 180
            else ""
            for t in ticks
        ],
        fontsize=9,
        color="white",
    )
    dec_ticks = np.arange(-60, 61, 30)
    ax_sky.set_yticks(np.radians(dec_ticks))
    ax_sky.set_yticklabels([_degrees(float(d), wrap=False) for d in dec_ticks], fontsize=9)


def _frame_zoom(
    fig: Figure,
    ax_zoom: Axes,
    analysis: SkymapAnalysis,
    comparison: ComparisonPosition | None,
    zoom_norm: Normalize,
) -> tuple[float, float, float, float]:
    """The zoom's colorbar and the legend first, so the panel's final size is known before its limits;
    the limits (RA low, RA high, Dec low, Dec high) that fill the panel."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    cos_dec = max(math.cos(math.radians(analysis.best_fit.dec_deg)), 0.05)
    zoom_bar = fig.colorbar(
        ScalarMappable(norm=zoom_norm, cmap="plasma_r"),
        cax=ax_zoom.inset_axes(_COLORBAR_BOX),
        orientation="vertical",
        extend="max",
    )
    zoom_bar.set_label(r"$2\Delta\ln L$", fontsize=10)
    zoom_bar.ax.tick_params(labelsize=9)
    fig.legend(
        handles=_legend_handles(analysis, comparison), fontsize=8.5, loc="outside lower center", ncol=2
    )
    ax_zoom.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax_zoom.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax_zoom.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _degrees(v, wrap=True)))
    ax_zoom.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _degrees(v, wrap=False)))
    ax_zoom.tick_params(labelsize=10)
    ax_zoom.set_xlabel("Right ascension (J2000)", fontsize=11)
    ax_zoom.set_ylabel("Declination (J2000)", fontsize=11)
    extent = _zoom_extent(analysis, comparison)
    view = extent
    for _ in range(2):  # the tick labels of the new limits may move the panel's edges a little
        ax_zoom.set_xlim(view[1], view[0])  # RA grows to the left
        ax_zoom.set_ylim(view[2], view[3])
        fig.draw_without_rendering()
        box = ax_zoom.get_position()
        ratio = (box.width * fig.get_figwidth()) / (box.height * fig.get_figheight())
        view = _fill_panel(extent, ratio, cos_dec)
    return view


def _draw_zoom(
    ax_zoom: Axes,
    analysis: SkymapAnalysis,
    comparison: ComparisonPosition | None,
    view: tuple[float, float, float, float],
    zoom_norm: Normalize,
) -> None:
    best = analysis.best_fit
    ra_lo, ra_hi, dec_lo, dec_hi = view
    ax_zoom.set_xlim(ra_hi, ra_lo)
    ax_zoom.set_ylim(dec_lo, dec_hi)

    n_ra, n_dec = 720, 400
    ra_z = np.linspace(ra_lo, ra_hi, n_ra)
    dec_z = np.linspace(dec_lo, dec_hi, n_dec)
    ts_z = np.ma.masked_invalid(_ts_on_grid(analysis, ra_z, dec_z))
    ax_zoom.pcolormesh(ra_z, dec_z, ts_z, cmap="plasma_r", norm=zoom_norm, shading="nearest", rasterized=True)
    for region in (analysis.region_50, analysis.region_90):
        color = _COLORS[region.containment]
        for contour in region.contours:
            ax_zoom.plot(contour.ra_deg, contour.dec_deg, color=color, lw=1.8)
        bx, by = _box_xy(best.ra_deg, best.dec_deg, region.box)
        ax_zoom.plot(bx, by, color=color, lw=1.0, ls="--")
    ax_zoom.plot([best.ra_deg], [best.dec_deg], "*", color="cyan", mec="black", ms=15)
    if comparison is not None:
        dra = float(ra_offset_deg(np.array([comparison.ra_deg]), best.ra_deg)[0])
        ax_zoom.plot([best.ra_deg + dra], [comparison.dec_deg], "x", color="magenta", ms=12, mew=2.5)
    ax_zoom.set_xlim(ra_hi, ra_lo)  # plotting must not have moved the limits
    ax_zoom.set_ylim(dec_lo, dec_hi)
    ax_zoom.grid(True, color="white", alpha=0.3, lw=0.6)


def write_png(
    analysis: SkymapAnalysis, path: str | Path, comparison: ComparisonPosition | None = None, dpi: int = 150
) -> WrittenFile:
    """Render the picture and write it atomically."""
    return write_atomic(path, render_png(analysis, comparison, dpi), "image/png")


def write_pdf(
    analysis: SkymapAnalysis, path: str | Path, comparison: ComparisonPosition | None = None
) -> WrittenFile:
    """The same picture as PDF (vector, for publications), written atomically."""
    return write_atomic(path, render_png(analysis, comparison, image_format="pdf"), "application/pdf")


def write_png_and_pdf(
    analysis: SkymapAnalysis, path: str | Path, comparison: ComparisonPosition | None = None, dpi: int = 150
) -> tuple[WrittenFile, WrittenFile]:
    """The picture as PNG at ``path`` and as PDF beside it (same name, ``.pdf``), drawn once."""
    pictures = render_pictures(analysis, comparison, dpi)
    png = write_atomic(path, pictures["png"], "image/png")
    return png, write_atomic(Path(path).with_suffix(".pdf"), pictures["pdf"], "application/pdf")
