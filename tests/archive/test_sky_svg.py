"""The catalogue's sky map (skymist.archive.sky_svg, Mollweide as the skymap picture draws it): a
region around a pole is a cap closing on the pole's point, not a band along the edge; a region across
RA 0/360 is drawn on both edges; the map has RA/Dec labels. The index page's map is rendered by
headless Chromium with such regions (screenshot beside the catalogue's screenshots)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import healpy as hp
import numpy as np

from skymist.archive import sky_svg
from skymist.archive.site import _environment, script_json
from skymist.archive.sky_svg import CX, CY, A, B
from tests.archive.test_site import chromium, parse

SCREENSHOTS = Path(os.environ.get("SKYMIST_SCREENSHOT_DIR", "/tmp/skymist-catalogue-screenshots"))


def vertices(polygons: list[str]) -> list[tuple[float, float]]:
    """The polygons' vertices that lie on the map (inside its ellipse)."""
    points = [tuple(map(float, p.split(","))) for polygon in polygons for p in polygon.split()]
    return [(x, y) for x, y in points if ((x - CX) / A) ** 2 + ((y - CY) / B) ** 2 <= 1.0 + 1e-6]


def half_width_at(dec_deg: float) -> float:
    """Half the map's width at ``dec_deg`` (the ellipse's x extent there)."""
    x, _ = sky_svg.project(np.array([np.pi]), np.array([dec_deg]))
    return float(x[0]) - CX if float(x[0]) > CX else CX - float(x[0])


def disc(ra: float, dec: float, radius: float, nside: int = 512) -> tuple[int, Any]:
    vec = hp.ang2vec(ra, dec, lonlat=True)
    return nside, hp.query_disc(nside, vec, math.radians(radius))


def test_a_region_around_the_south_pole_is_a_cap_on_the_pole() -> None:
    polygons = sky_svg.pixel_polygons(*disc(40.0, -87.0, 6.0))  # contains the pole
    on_map = vertices(polygons)
    assert on_map
    # every vertex lies south of Dec -79.5 deg (the disc reaches -81, its map pixels about one
    # pixel more): within the ellipse's width there, not across the map
    limit = half_width_at(-79.5)
    assert all(abs(x - CX) <= limit + 0.5 for x, _ in on_map), max(abs(x - CX) for x, _ in on_map)
    assert all(y >= sky_svg.point(0.0, -79.5)[1] - 0.5 for _, y in on_map)
    # the pole's own point (the bottom of the ellipse) is a vertex of the region
    assert any(abs(x - CX) < 0.6 and abs(y - (CY + B)) < 0.6 for x, y in on_map)
    # the same for an error circle around the north pole (an alert without skymap)
    circle = vertices(sky_svg.circle_polygons(200.0, 85.0, 8.0))
    assert circle and all(abs(x - CX) <= half_width_at(76.9) + 0.5 for x, _ in circle)
    assert all(y <= sky_svg.point(0.0, 76.9)[1] + 0.5 for _, y in circle)


def test_a_region_across_ra_0_is_drawn_on_both_edges() -> None:
    for polygons in (
        sky_svg.pixel_polygons(*disc(0.5, 10.0, 3.0)),
        sky_svg.circle_polygons(359.0, -20.0, 4.0),
    ):
        on_map = vertices(polygons)
        right = [x for x, _ in on_map if x > CX + 0.9 * A * 0.9]  # RA just above 0: the right edge
        left = [x for x, _ in on_map if x < CX - 0.9 * A * 0.9]  # RA just below 360: the left edge
        assert right and left
        assert not [x for x, _ in on_map if abs(x - CX) < 0.5 * A]  # nothing drawn across the middle
    x, y = sky_svg.point(180.0, 0.0)
    assert (x, y) == (CX, CY)  # RA 180 in the middle
    assert sky_svg.point(90.0, 0.0)[0] > CX  # RA grows to the left: RA 90 right of the middle


def test_the_index_map_has_axes_labels_and_the_regions_rendered(tmp_path: Path) -> None:
    colours = ("#f2cc60", "#ff7b72", "#7ee787")
    regions = {
        "south-pole-region": sky_svg.pixel_polygons(*disc(40.0, -87.0, 6.0)),
        "across-ra-0": sky_svg.pixel_polygons(*disc(0.5, 10.0, 3.0)),
        "north-pole-circle": sky_svg.circle_polygons(200.0, 85.0, 8.0),
    }
    shapes = []
    for (name, polygons), colour in zip(regions.items(), colours, strict=True):
        x, y = sky_svg.point(0.5 if "ra-0" in name else 40.0, 10.0 if "ra-0" in name else -87.0)
        shapes.append(
            {"name": name, "href": f"{name}.html", "colour": colour, "x": x, "y": y, "polygons": polygons}
        )
    html = (
        _environment()
        .get_template("catalogue/index.html.j2")
        .render(
            title="sky map",
            catalogue_name="SkyMist alert catalogue",
            jsonld=script_json({"@context": "https://schema.org", "@type": "DataCatalog"}),
            rows=[],
            shapes=shapes,
            sky=sky_svg.frame(),
            columns=[],
            downloads=[],
        )
    )
    page = tmp_path / "index.html"
    page.write_text(html)
    parse(page)  # valid HTML5, every element closed
    for label in ("0°", "60°", "300°", "+60°", "-60°", "Right ascension", "Declination"):
        assert f">{label}" in html, label
    dom = chromium("--virtual-time-budget=1000", "--dump-dom", page.as_uri()).stdout
    assert dom.count('class="region"') == 3
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / "sky-map-polar.png"
    chromium("--window-size=1100,800", f"--screenshot={target}", page.as_uri())
    assert target.stat().st_size > 10_000
