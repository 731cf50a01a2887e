"""The catalogue's sky map as SVG: a Mollweide projection in equatorial coordinates (RA 180 deg in
the middle, RA growing to the left, as the skymap picture draws it), with a graticule and RA/Dec
labels, and each 90% region drawn from its HEALPix pixels (or its error circle).

Regions near a pole are drawn as the caps they are (the projection closes the poles to a point), and
a region across RA 0/360 is drawn on both edges: each polygon is unwrapped around its own centre and,
where it crosses the edge, drawn a second time shifted by 360 deg; the map's outline clips both.
Nothing here reads files or the store: numbers in, SVG attribute values out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]  # float arrays (numpy's ufuncs are typed loosely)

#: the SVG's size and the map's ellipse (centre, semi-axes) inside it, room left for the labels
WIDTH, HEIGHT = 800, 420
CX, CY, A, B = 410.0, 200.0, 360.0, 180.0
#: regions are drawn with pixels of this HEALPix resolution (about 0.9 deg)
MAP_NSIDE = 64


def _theta(dec_rad: Array) -> Array:
    """Mollweide's auxiliary angle t of 2t + sin 2t = pi sin(dec), by bisection (the left side grows
    with t; Newton's method stalls near the poles)."""
    target = np.pi * np.sin(dec_rad)
    low = np.full(np.shape(dec_rad), -np.pi / 2)
    high = np.full(np.shape(dec_rad), np.pi / 2)
    for _ in range(60):
        mid = (low + high) / 2
        above = 2 * mid + np.sin(2 * mid) > target
        high = np.where(above, mid, high)
        low = np.where(above, low, mid)
    result: Array = (low + high) / 2
    return result


def _lam(ra_deg: Array) -> Array:
    """Longitude on the map (radians, -pi..pi): RA 180 in the middle, RA growing to the left."""
    result: Array = np.pi - np.radians(np.mod(ra_deg, 360.0))
    return result


def project(lam: Array, dec_deg: Array) -> tuple[Array, Array]:
    """SVG x, y of map longitudes ``lam`` (radians, may lie beyond +-pi: then outside the map) and Dec."""
    theta = _theta(np.radians(np.clip(dec_deg, -90.0, 90.0)))
    x: Array = CX + A * (lam / np.pi) * np.cos(theta)  # lam = +pi (RA 0) on the right edge
    y: Array = CY - B * np.sin(theta)
    return x, y


def point(ra_deg: float, dec_deg: float) -> tuple[float, float]:
    x, y = project(_lam(np.array([ra_deg])), np.array([dec_deg]))
    return round(float(x[0]), 2), round(float(y[0]), 2)


def _points(x: Array, y: Array) -> str:
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))


def _polygons(lam: Array, dec: Array) -> list[str]:
    """One polygon (unwrapped longitudes), and its copy 2 pi over when it crosses the map's edge."""
    shifts = [0.0]
    if lam.max() > np.pi:
        shifts.append(-2 * np.pi)
    if lam.min() < -np.pi:
        shifts.append(2 * np.pi)
    return [_points(*project(lam + shift, dec)) for shift in shifts]


def _unwrap(lam: Array, centre: float) -> Array:
    result: Array = centre + np.mod(lam - centre + np.pi, 2 * np.pi) - np.pi
    return result


def pixel_polygons(nside: int, ring_pixels: Array) -> list[str]:
    """The region of RING ``ring_pixels`` at ``nside``, as polygons of pixels of :data:`MAP_NSIDE`
    (or of ``nside`` itself when coarser)."""
    import healpy as hp

    if len(ring_pixels) == 0:
        return []
    nested = hp.ring2nest(nside, np.asarray(ring_pixels, dtype=np.int64))
    map_nside = min(MAP_NSIDE, nside)
    coarse = np.unique(nested // (nside // map_nside) ** 2)
    corners = np.asarray(hp.boundaries(map_nside, coarse, step=2, nest=True)).reshape(len(coarse), 3, -1)
    ra_c, _ = hp.pix2ang(map_nside, coarse, nest=True, lonlat=True)
    polygons: list[str] = []
    for i in range(len(coarse)):
        vec = corners[i]
        ra, dec = hp.vec2ang(vec.T, lonlat=True)
        centre = float(_lam(np.array([ra_c[i]]))[0])
        polygons += _polygons(_unwrap(_lam(ra), centre), dec)
    return polygons


def circle_polygons(ra_deg: float, dec_deg: float, radius_deg: float, steps: int = 96) -> list[str]:
    """The circle of ``radius_deg`` around a position on the sphere; one around a pole is closed
    through the pole (along the meridians where its longitudes meet)."""
    phi1, delta = math.radians(dec_deg), math.radians(min(radius_deg, 179.0))
    bearing = np.linspace(0.0, 2 * np.pi, steps, endpoint=False)
    lat = np.arcsin(np.sin(phi1) * np.cos(delta) + np.cos(phi1) * np.sin(delta) * np.cos(bearing))
    dlon = np.arctan2(
        np.sin(bearing) * np.sin(delta) * np.cos(phi1), np.cos(delta) - np.sin(phi1) * np.sin(lat)
    )
    dec = np.degrees(lat)
    centre = float(_lam(np.array([ra_deg]))[0])
    if abs(dec_deg) + radius_deg < 90.0:
        return _polygons(_unwrap(_lam(ra_deg + np.degrees(dlon)), centre), dec)
    # around the pole the ring's Dec is one value per longitude: sampled from the map's left edge to
    # its right, then closed along the edges (the map's outline) through the pole
    lam_ring = np.mod(_lam(ra_deg + np.degrees(dlon)) + np.pi, 2 * np.pi) - np.pi
    order = np.argsort(lam_ring)
    lam_sorted, dec_sorted = lam_ring[order], dec[order]
    grid = np.linspace(-np.pi, np.pi, 361)
    ring = np.interp(
        grid,
        np.concatenate([lam_sorted - 2 * np.pi, lam_sorted, lam_sorted + 2 * np.pi]),
        np.tile(dec_sorted, 3),
    )
    pole = 90.0 if dec_deg > 0 else -90.0
    lam = np.concatenate([grid, np.full(60, np.pi), np.full(60, -np.pi)])
    dec_all = np.concatenate([ring, np.linspace(ring[-1], pole, 60), np.linspace(pole, ring[0], 60)])
    return [_points(*project(lam, dec_all))]


def frame() -> dict[str, Any]:
    """The map's outline, graticule (every 30 deg) and labels."""
    outline = _points(
        *project(
            np.concatenate([np.full(91, np.pi), np.full(91, -np.pi)]),
            np.concatenate([np.linspace(-90, 90, 91), np.linspace(90, -90, 91)]),
        )
    )
    lines = []
    dec_axis = np.linspace(-90.0, 90.0, 61)
    for ra in range(30, 360, 30):
        lines.append(_points(*project(_lam(np.full_like(dec_axis, float(ra))), dec_axis)))
    lam_axis = np.linspace(-np.pi, np.pi, 121)
    for dec in range(-60, 90, 30):
        lines.append(_points(*project(lam_axis, np.full_like(lam_axis, float(dec)))))
    labels = []
    for ra in range(0, 360, 60):
        x, y = point(float(ra), 0.0)  # RA 0 (lam = pi) on the right edge: its label just inside
        labels.append(
            {
                "x": round(x - 12 if ra == 0 else x, 1),
                "y": round(y + 13, 1),
                "text": f"{ra}°",
                "anchor": "middle",
            }
        )
    for dec in (-60, -30, 0, 30, 60):
        edge_x, edge_y = project(np.array([np.pi]), np.array([float(dec)]))
        left = CX - (float(edge_x[0]) - CX)
        labels.append(
            {
                "x": round(left - 5, 1),
                "y": round(float(edge_y[0]) + 4, 1),
                "text": f"{dec:+d}°" if dec else "0°",
                "anchor": "end",
            }
        )
    titles = [
        {
            "x": CX,
            "y": HEIGHT - 6,
            "text": "Right ascension (J2000, deg; grows to the left)",
            "anchor": "middle",
            "rotate": False,
        },
        {"x": 14, "y": CY, "text": "Declination (deg)", "anchor": "middle", "rotate": True},
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "outline": outline,
        "lines": lines,
        "labels": labels,
        "titles": titles,
        "cx": CX,
        "cy": CY,
        "a": A,
        "b": B,
    }
