"""Rendered products: notices valid against the official GCN schema, VOEvents well-formed with the
published Params, Slack messages within Block Kit's limits."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from xml.etree import ElementTree

import pytest

from skymist.alerts.products import NOTICE_TEMPLATE, SLACK_ALERT_TEMPLATE, render_voevent
from skymist.rendering import Renderer
from tests.helpers import VOEVENT_PARAMS
from tests.helpers import product_context as context
from tests.support.gcn_schema import notice_validator

VOE = "{http://www.ivoa.net/xml/VOEvent/v2.0}"
EVENT_TIME = dt.datetime(2022, 5, 24, 7, 41, 32, 185352, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def schema() -> tuple[Any, set[str]]:
    return notice_validator()


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"stream": "GOLD", "alert_tense": "test"},
        {"stream": "CASCADE"},
        {
            "revision": 1,
            "alert_type": "update",
            "systematic_included": True,
            "supersedes_revision": 0,
            "healpix_url": "https://example.org/IceCube-220524A.multiorder.fits",
        },
        {"alert_type": "retraction", "supersedes_revision": 0},
    ],
)
def test_notice_is_valid_against_the_official_schema(
    schema: tuple[Any, set[str]], overrides: dict[str, Any]
) -> None:
    validator, known_properties = schema
    notice = json.loads(Renderer().render_json(NOTICE_TEMPLATE, context(**overrides).as_template_vars()))
    errors = sorted(validator.iter_errors(notice), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    assert set(notice) - {"$schema"} <= known_properties  # no misspelt key slips through


def test_rev0_notice_values_and_units(schema: tuple[Any, set[str]]) -> None:
    notice = json.loads(Renderer().render_json(NOTICE_TEMPLATE, context().as_template_vars()))
    assert notice["record_number"] == 0 and notice["alert_type"] == "initial"
    assert notice["pipeline"] == "Bronze Track Alert" and notice["alert_topology"] == "Track"
    assert notice["event_name"] == ["IceCube-220524A"] and notice["id"] == ["136662_35405932"]
    assert notice["ra"] == 48.8497 and notice["dec"] == -3.5219 and notice["ra_dec_error"] == 0.5133
    assert notice["far"] == pytest.approx(2.0054 / 31557600, rel=1e-3)  # Hz
    assert notice["nu_energy"] == 114.92 and notice["p_astro"] == 0.3834
    assert notice["systematic_included"] is False and "healpix_url" not in notice
    assert notice["trigger_time"] == "2022-05-24T07:41:32.185352Z"


def test_voevent_is_well_formed_with_the_published_params() -> None:
    xml = render_voevent(Renderer(), context())
    root = ElementTree.fromstring(xml)
    assert root.tag == f"{VOE}VOEvent" and root.get("version") == "2.0" and root.get("role") == "observation"
    assert (
        root.get("ivorn")
        == "ivo://nasa.gsfc.gcn/AMON#ICECUBE_BRONZE_Event2022-05-24T07:41:32.19_25_136662_035405932_0"
    )
    params = {p.get("name"): p.get("value") for p in root.find("What").findall("Param")}  # type: ignore[union-attr]
    assert set(params) >= VOEVENT_PARAMS
    assert params["Packet_Type"] == "174" and params["Stream"] == "25" and params["Rev"] == "0"
    assert params["Event_TJD"] == "19723" and params["Event_SOD"] == "27692.19"
    assert params["FAR"] == "2.0054" and params["energy"] == "114.9200" and params["src_error_90"] == "0.5133"
    group = {p.get("name"): p.get("value") for p in root.find("What/Group[@name='Trigger_ID']")}  # type: ignore[union-attr]
    assert group["Retraction"] == "false"
    position = root.find("WhereWhen/ObsDataLocation/ObservationLocation/AstroCoords/Position2D")
    assert position is not None
    assert position.findtext("Value2/C1") == "48.8497" and position.findtext("Value2/C2") == "-3.5219"
    assert position.findtext("Error2Radius") == "0.5133"
    assert root.find("Citations") is None


def test_voevent_citations_for_update_and_retraction() -> None:
    update = ElementTree.fromstring(
        render_voevent(Renderer(), context(revision=1, alert_type="update", supersedes_revision=0))
    )
    cite = update.find("Citations/EventIVORN")
    assert cite is not None and cite.get("cite") == "supersedes" and cite.text and cite.text.endswith("_0")
    retraction = ElementTree.fromstring(
        render_voevent(Renderer(), context(alert_type="retraction", supersedes_revision=0))
    )
    group = {p.get("name"): p.get("value") for p in retraction.find("What/Group")}  # type: ignore[union-attr]
    assert group["Retraction"] == "true"
    assert retraction.find("Citations/EventIVORN").get("cite") == "retraction"  # type: ignore[union-attr]


def test_gold_and_cascade_codes() -> None:
    for stream, packet, amon in (("GOLD", "173", "24"), ("CASCADE", "176", "26")):
        root = ElementTree.fromstring(render_voevent(Renderer(), context(stream=stream)))
        params = {p.get("name"): p.get("value") for p in root.find("What").findall("Param")}  # type: ignore[union-attr]
        assert (params["Packet_Type"], params["Stream"]) == (packet, amon)
        assert re.match(
            rf"ivo://nasa.gsfc.gcn/AMON#ICECUBE_(GOLD|Cascade)_Event.*_{amon}_136662_035405932_0$",
            root.get("ivorn", ""),
        )


def test_slack_message_respects_block_kit_limits_and_escapes() -> None:
    ctx = context(name="IceCube-220524A <&>")
    message = json.loads(Renderer().render_json(SLACK_ALERT_TEMPLATE, ctx.as_template_vars()))
    assert len(message["blocks"]) <= 50
    header = message["blocks"][0]
    assert header["type"] == "header" and len(header["text"]["text"]) <= 150
    assert "&lt;&amp;&gt;" in message["text"] and "<&>" not in message["text"]
    for block in message["blocks"]:
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
    assert "48.85" in json.dumps(message) and "-3.52" in json.dumps(message)


def test_missing_template_variable_is_an_error() -> None:
    from jinja2 import UndefinedError

    variables = context().as_template_vars()
    del variables["ra_deg"]
    with pytest.raises(UndefinedError):
        Renderer().render_json(NOTICE_TEMPLATE, variables)
