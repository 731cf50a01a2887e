"""The position value: built from an analysed scan, stored as the localization's columns, read back
the same, and shown to the templates with RA in [0, 360)."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path

from skymist.alerts.refined_products import RefinedSlackVars
from skymist.circulars.context import track_vars
from skymist.skymap.analysis import analyze_path
from skymist.skymap.numbers import combined_error_deg
from skymist.skymap.position import SkyPosition
from skymist.store.product_models import Localization


def test_position_of_a_scan_round_trips_through_the_localization_columns(
    make_json: Callable[..., Path],
) -> None:
    analysis = analyze_path(make_json(ra_deg=359.6, dec_deg=-30.0, sigma_deg=1.5), "wilks")
    position = SkyPosition.from_analysis(analysis)
    best, r90 = analysis.best_fit, analysis.region_90
    assert (position.ra_deg, position.dec_deg) == (best.ra_deg, best.dec_deg)
    assert position.box_90.dec_minus_deg == r90.box.dec_minus_deg
    assert position.box_50.area_deg2 == analysis.region_50.area_deg2
    assert position.err90_deg == combined_error_deg(r90.box, best.dec_deg)
    assert position.box_50.area_deg2 < position.box_90.area_deg2

    columns = position.as_columns()
    assert set(columns) <= set(Localization.__table__.columns.keys())
    assert len(columns) == 14
    assert SkyPosition.of(Localization(**columns)) == position


def test_circular_vars_are_track_circular_arguments(make_json: Callable[..., Path]) -> None:
    position = SkyPosition.from_analysis(analyze_path(make_json(ra_deg=200.0, dec_deg=-5.0), "wilks"))
    stated = position.circular_vars()
    assert set(stated) <= set(inspect.signature(track_vars).parameters)
    assert stated["ra_deg"] == position.ra_deg
    assert (stated["dec_plus_deg"], stated["area_90_deg2"]) == (
        position.box_90.dec_plus_deg,
        position.box_90.area_deg2,
    )


def test_template_vars_are_the_slack_message_fields(make_json: Callable[..., Path]) -> None:
    position = SkyPosition.from_analysis(analyze_path(make_json(ra_deg=0.2, dec_deg=45.0), "wilks"))
    shown = position.template_vars()
    assert set(shown) <= {f.name for f in dataclasses.fields(RefinedSlackVars)}
    assert 0.0 <= shown["ra_deg"] < 360.0
    assert shown["ra_deg"] == position.ra_deg % 360.0
    assert shown["dec_minus_90_deg"] == position.box_90.dec_minus_deg
    assert shown["area_50_deg2"] == position.box_50.area_deg2
