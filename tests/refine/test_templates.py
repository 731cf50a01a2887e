"""Templates of the refined products rendered from fixed contexts: golden files, the official GCN
schema for notices, VOEvent 2.0 structure, GCN's Circular rules, Slack's Block Kit limits."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from xml.etree import ElementTree

import pytest

from skymist.alerts.context import ProductContext
from skymist.alerts.products import NOTICE_TEMPLATE, render_voevent
from skymist.alerts.reco import RecoIdentity
from skymist.alerts.refined_products import SLACK_REFINED_TEMPLATE, RefinedSlackVars, revision_rows
from skymist.alerts.retraction import SLACK_RETRACTION_TEMPLATE, RetractionSlackVars
from skymist.circulars.catalogue import CatalogueMatch, CatalogueSource
from skymist.circulars.context import RetractionCircularVars, TrackCircularVars, retraction_vars, track_vars
from skymist.circulars.drafts import SLACK_CIRCULAR_TEMPLATE, CircularSlackVars, render_circular
from skymist.circulars.errors import CircularFormatError
from skymist.circulars.text import CircularText, check_circular, paragraphs
from skymist.config import Settings
from skymist.rendering import Renderer
from skymist.store.product_models import CircularKind
from tests.helpers import VOEVENT_PARAMS, product_context
from tests.refine.golden import assert_golden
from tests.support.gcn_schema import notice_validator

VOE = "{http://www.ivoa.net/xml/VOEvent/v2.0}"
EVENT_TIME = dt.datetime(2022, 5, 24, 7, 41, 32, 185352, tzinfo=dt.UTC)
NOW = dt.datetime(2022, 5, 24, 12, 5, 0, tzinfo=dt.UTC)
HEALPIX_URL = (
    "https://roc.example.org/public/alerts/IceCube-220524A/IceCube-220524A_rev1.skymap.multiorder.fits.gz"
)
PNG_URL = "https://roc.example.org/public/alerts/IceCube-220524A/IceCube-220524A_rev1.skymap.png"
SUBJECT = re.compile(
    r"^IceCube-\d{6}[A-Z]+ - IceCube observation of a high-energy neutrino candidate track-like event$"
)


#: what the public texts say of skyscan's calibrated approximation
ONLINE_GAUSSIAN_WORDS = RecoIdentity("online_gaussian", "approximation", "wilks", "plan entry").words


@pytest.fixture(scope="module")
def schema() -> tuple[Any, set[str]]:
    return notice_validator()


def rev1_context() -> ProductContext:
    refined: ProductContext = product_context(
        revision=1,
        ra_deg=47.197265625,
        dec_deg=-3.2843691083657944,
        err50_deg=0.940906,
        err90_deg=1.719689,
        alert_type="update",
        now=NOW,
        systematic_included=True,
        healpix_url=HEALPIX_URL,
        supersedes_revision=0,
        reco_algo="splinempe",
        reco_kind="reconstruction",
        reco_words="splinempe (a reconstruction of the event's detector data)",
    )
    return refined


def approximate_rev1_context(**overrides: Any) -> ProductContext:
    values: dict[str, Any] = dict(
        revision=1,
        ra_deg=48.85,
        dec_deg=-3.52,
        err50_deg=0.2,
        err90_deg=0.5,
        alert_type="update",
        now=NOW,
        systematic_included=False,
        healpix_url=HEALPIX_URL,
        supersedes_revision=0,
        reco_algo="online_gaussian",
        reco_kind="approximation",
        reco_words=ONLINE_GAUSSIAN_WORDS,
    )
    values.update(overrides)
    approximate: ProductContext = product_context(**values)
    return approximate


def retraction_context() -> ProductContext:
    retraction: ProductContext = product_context(
        revision=2,
        ra_deg=47.197265625,
        dec_deg=-3.2843691083657944,
        err50_deg=0.940906,
        err90_deg=1.719689,
        alert_type="retraction",
        now=NOW,
        supersedes_revision=1,
        systematic_included=True,  # what the retracted Rev 1 said
    )
    return retraction


def track(**overrides: Any) -> TrackCircularVars:
    values: dict[str, Any] = dict(
        name="IceCube-220524A",
        run_id=136662,
        event_id=35405932,
        stream="BRONZE",
        event_time=EVENT_TIME,
        far_per_year=2.0054,
        ra_deg=47.197265625,
        dec_deg=-3.2843691083657944,
        ra_plus_deg=4.74609375,
        ra_minus_deg=2.4609375,
        dec_plus_deg=0.821682870474902,
        dec_minus_deg=0.8223597107616882,
        area_90_deg2=9.33714180297423,
        systematic_included=True,
        healpix_url=HEALPIX_URL,
        contact="roc@icecube.wisc.edu",
        catalogue=CatalogueMatch(
            "Fermi 4FGL-DR4", (), CatalogueSource("4FGL J0311.0-0500", 47.7521, -5.0138, 1.8062)
        ),
    )
    values.update(overrides)
    return track_vars(**values)


def retraction() -> RetractionCircularVars:
    return retraction_vars(
        name="IceCube-220524A",
        run_id=136662,
        event_id=35405932,
        stream="BRONZE",
        event_time=EVENT_TIME,
        reason_text="IceTop recorded a coincident air shower: the event is a muon bundle from a cosmic ray.",
        contact="roc@icecube.wisc.edu",
    )


def pretty(payload: bytes) -> str:
    return json.dumps(json.loads(payload), indent=2, ensure_ascii=False) + "\n"


def voevent_params(xml: bytes) -> tuple[ElementTree.Element, dict[str, str], dict[str, str]]:
    """Parse as VOEvent 2.0: root element, What Params and the Trigger_ID group; fails if not VOEvent 2.0
    (validated with the VOEvent 2.0 XSD that voevent-parse ships)."""
    import voeventparse

    voeventparse.assert_valid_as_v2_0(voeventparse.loads(xml))
    root = ElementTree.fromstring(xml)
    assert root.tag == f"{VOE}VOEvent" and root.get("version") == "2.0"
    assert root.get("role") in ("observation", "test") and (root.get("ivorn") or "").startswith("ivo://")
    what = root.find("What")
    assert what is not None
    params = {str(p.get("name")): str(p.get("value")) for p in what.findall("Param")}
    group = what.find("Group[@name='Trigger_ID']")
    assert group is not None
    flags = {str(p.get("name")): str(p.get("value")) for p in group.findall("Param")}
    assert set(params) >= VOEVENT_PARAMS, VOEVENT_PARAMS - set(params)
    where = root.find("WhereWhen/ObsDataLocation/ObservationLocation/AstroCoords")
    assert where is not None and where.findtext("Time/TimeInstant/ISOTime")
    for path in ("Position2D/Value2/C1", "Position2D/Value2/C2", "Position2D/Error2Radius"):
        float(where.findtext(path) or "nan")
    return root, params, flags


# --------------------------------------------------------------------------------- notices


def test_rev1_notice_golden_and_valid(schema: tuple[Any, set[str]]) -> None:
    settings = Settings(database_url="sqlite:///unused.db", notice_topic="notices", voevent_topic="voevents")
    rows = revision_rows(settings, Renderer(), 1, rev1_context(), held=False)
    notice = json.loads(rows[0].payload)
    validator, known = schema
    assert not [e.message for e in validator.iter_errors(notice)]
    assert set(notice) - {"$schema", "additional_info"} <= known  # GCN's core AdditionalInfo field
    assert notice["additional_info"] == (
        "Refined localization: direction from splinempe (a reconstruction of the event's detector data)."
    )
    assert notice["record_number"] == 1 and notice["alert_type"] == "update"
    assert notice["systematic_included"] is True and notice["healpix_url"] == HEALPIX_URL
    assert notice["ra"] == 47.1973 and notice["dec"] == -3.2844 and notice["ra_dec_error"] == 1.7197
    assert_golden("rev1_notice.json", pretty(rows[0].payload))


def test_rev1_voevent_golden_and_structure() -> None:
    settings = Settings(database_url="sqlite:///unused.db", notice_topic="notices", voevent_topic="voevents")
    payload = revision_rows(settings, Renderer(), 1, rev1_context(), held=True)[1].payload
    assert isinstance(payload, bytes)
    root, params, flags = voevent_params(payload)
    assert params["Rev"] == "1" and params["Packet_Type"] == "174" and params["Stream"] == "25"
    assert params["src_error_90"] == "1.7197" and flags["Retraction"] == "false"
    # as real AMON packets: RADec_valid false, Trigger_ID 0x0, Misc_flags = the stream (25) in the top byte
    assert flags["RADec_valid"] == "false" and params["Trigger_ID"] == "0x0"
    assert params["Misc_flags"] == "0x19000000"
    assert root.get("role") == "observation"  # alert_tense current
    cite = root.find("Citations/EventIVORN")
    assert cite is not None and cite.get("cite") == "supersedes"
    assert (cite.text or "").endswith("_136662_035405932_0")
    assert_golden("rev1_voevent.xml", payload.decode())


def test_retraction_notice_and_voevent_golden_and_valid(schema: tuple[Any, set[str]]) -> None:
    ctx = retraction_context()
    renderer = Renderer()
    notice = json.loads(renderer.render_json(NOTICE_TEMPLATE, ctx.as_template_vars()))
    validator, known = schema
    assert not [e.message for e in validator.iter_errors(notice)]
    assert set(notice) - {"$schema"} <= known
    assert notice["alert_type"] == "retraction" and notice["record_number"] == 2 and "ra" not in notice
    assert_golden(
        "retraction_notice.json", pretty(renderer.render_json(NOTICE_TEMPLATE, ctx.as_template_vars()))
    )
    xml = render_voevent(renderer, ctx)
    root, params, flags = voevent_params(xml)
    assert flags["Retraction"] == "true" and flags["RADec_valid"] == "false" and params["Rev"] == "2"
    # the retraction repeats what it retracts: Rev 1's errors included systematics
    descriptions = [p.findtext("Description") for p in root.iter("Param") if p.get("name") == "src_error_90"]
    assert descriptions == ["Angular error of the source, statistical and systematic, (90% containment)."]
    cite = root.find("Citations/EventIVORN")
    assert cite is not None and cite.get("cite") == "retraction" and (cite.text or "").endswith("_1")
    assert_golden("retraction_voevent.xml", xml.decode())


# ------------------------------------------------------------------------------- circulars


def assert_circular_rules(circular: CircularText) -> None:
    assert "draft" not in circular.subject.lower() and "re:" not in circular.subject.lower()
    lines = circular.as_file().splitlines()
    assert len(lines) < 60
    for block in paragraphs(circular.body):  # a paragraph is one line; only "Field: value" lines stack
        assert len(block) == 1 or all(re.match(r"^(Date|Time|RA|Dec): ", line) for line in block), block
    assert not re.search(r"\d{2}/\d{2}/\d{2}", circular.body)  # one date style: YYYY-MM-DD


def test_track_circular_golden_and_rules() -> None:
    circular = render_circular(Renderer(), CircularKind.TRACK, track())
    assert SUBJECT.match(circular.subject), circular.subject
    assert_circular_rules(circular)
    body = circular.body
    assert "RA: 47.20 (+4.75, -2.46 deg 90% PSF containment) J2000" in body.splitlines()
    assert "Dec: -3.28 (+0.82, -0.82 deg 90% PSF containment) J2000" in body.splitlines()
    assert "Date: 2022-05-24" in body and "Time: 07:41:32.19 UT" in body
    assert "ICECUBE_Astrotrack_BRONZE" in body and "moderate probability" in body
    assert "The average astrophysical neutrino purity for Bronze alerts is 30%." in body
    assert "IceCube detected a track-like event" in body and "recorded" not in body
    # the FAR as the VOEvent's FAR Param gives it (2.0054), not rounded differently
    assert "false alarm rate of 2.0054 events per year" in body
    # the prompt notice as IceCube's Circulars cite it; no topic names in public text
    assert "(https://gcn.gsfc.nasa.gov/notices_amon_g_b/136662_35405932.amon)" in body
    assert "gcn.notices" not in body and "Kafka" not in body and "topic" not in body
    assert "more sophisticated reconstruction algorithms have been applied offline" in body
    assert "square degrees" not in body  # no area sentence: no real Circular has one
    assert "There are no Fermi 4FGL-DR4 catalog sources in the 90% uncertainty region of the event." in body
    assert "4FGL J0311.0-0500 at RA: 47.75 deg, Dec: -5.01 deg (1.81 deg away" in body
    assert body.rstrip().endswith("can be reached at roc@icecube.wisc.edu")
    assert_golden("track_circular.txt", circular.as_file())


def test_track_circular_lists_the_catalogue_sources_inside_the_region() -> None:
    inside = (
        CatalogueSource("4FGL J0308.4-0407", 47.1143, -4.1236, 0.8432),
        CatalogueSource("4FGL J0312.8-0341", 48.2101, -3.6947, 1.0926),
    )
    one = render_circular(
        Renderer(),
        CircularKind.TRACK,
        track(catalogue=CatalogueMatch("Fermi 4FGL-DR4", inside[:1], inside[0])),
    )
    assert (
        "The Fermi 4FGL-DR4 catalog source 4FGL J0308.4-0407 at RA: 47.11 deg, Dec: -4.12 deg (0.84 deg away "
        "from the best-fit alert position) is located within the 90% uncertainty region of the event."
    ) in one.body.splitlines()
    assert_golden("track_circular_one_source.txt", one.as_file())
    two = render_circular(
        Renderer(), CircularKind.TRACK, track(catalogue=CatalogueMatch("Fermi 4FGL-DR4", inside, inside[0]))
    )
    assert_circular_rules(two)
    [line] = [x for x in two.body.splitlines() if "catalog sources located within" in x]
    assert line.startswith("There are 2 Fermi 4FGL-DR4 catalog sources located within the 90% uncertainty")
    assert "4FGL J0308.4-0407 at RA: 47.11" in line and "; 4FGL J0312.8-0341 at RA: 48.21" in line
    assert_golden("track_circular_two_sources.txt", two.as_file())
    without = render_circular(Renderer(), CircularKind.TRACK, track(catalogue=None)).body
    assert "catalog" not in without  # no catalogue configured: no claim either way


def test_circular_of_an_approximation_never_says_refined() -> None:
    approximate = track(
        ra_deg=48.85,
        dec_deg=-3.52,
        systematic_included=False,
        reco_approximation=True,
        reco_words=ONLINE_GAUSSIAN_WORDS,
    )
    circular = render_circular(Renderer(), CircularKind.TRACK, approximate)
    assert_circular_rules(circular)
    body = circular.body.lower()
    assert "online_gaussian" in body and "approximat" in body
    assert "refined to" not in body and "more sophisticated reconstruction" not in body
    assert "systematic uncertainties included" not in body
    assert "precise" not in body and "psf" not in body and "90% containment of the approximation" in body
    assert_golden("track_circular_approximation.txt", circular.as_file())


def test_products_of_an_approximation_name_it(schema: tuple[Any, set[str]]) -> None:
    settings = Settings(database_url="sqlite:///unused.db", notice_topic="notices", voevent_topic="voevents")
    rows = revision_rows(settings, Renderer(), 1, approximate_rev1_context(), held=True)
    notice = json.loads(rows[0].payload)
    validator, _known = schema
    assert not [e.message for e in validator.iter_errors(notice)]
    assert notice["systematic_included"] is False
    assert set(notice) - {"$schema", "additional_info"} <= _known  # GCN's core AdditionalInfo field
    assert notice["additional_info"].startswith("Approximate localization, not a refined reconstruction")
    assert "online_gaussian" in notice["additional_info"]
    voevent = rows[1].payload
    assert isinstance(voevent, bytes)
    root, _params, _flags = voevent_params(voevent)
    assert "online_gaussian" in (root.findtext("How/Description") or "")
    assert "not a refined reconstruction" in (root.findtext("Description") or "")
    assert "statistical only" in ElementTree.tostring(root).decode()


def test_xml_templates_escape_names_with_markup_characters() -> None:
    ctx = approximate_rev1_context(reco_algo="gauss<&>\"'", reco_words="a <b> & \"c\" 'd'")
    xml = render_voevent(Renderer(), ctx)
    root, _params, _flags = voevent_params(xml)  # still well formed and valid VOEvent 2.0
    assert "a &lt;b&gt; &amp; &#34;c&#34; &#39;d&#39;" in xml.decode()
    assert root.findtext("How/Description", "").endswith("a <b> & \"c\" 'd'.")
    assert "gauss<&>\"'" in (root.findtext("Description") or "")


def test_gold_circular_says_high_purity() -> None:
    gold = track(stream="GOLD", far_per_year=0.5131)
    body = render_circular(Renderer(), CircularKind.TRACK, gold).body
    assert "high probability" in body and "ICECUBE_Astrotrack_GOLD" in body
    assert (
        "0.5131 events per year" in body
        and "The average astrophysical neutrino purity for Gold alerts is 50%" in body
    )


def test_retraction_circular_golden_and_rules() -> None:
    circular = render_circular(Renderer(), CircularKind.RETRACTION, retraction())
    assert circular.subject == "IceCube-220524A: Retraction of the IceCube alert"
    assert_circular_rules(circular)
    lines = circular.body.splitlines()
    # the operator's reason is its own paragraph, word for word; nothing fixed to "background"
    assert "IceTop recorded a coincident air shower: the event is a muon bundle from a cosmic ray." in lines
    assert "likely due to background" not in circular.body
    assert "(https://gcn.gsfc.nasa.gov/notices_amon_g_b/136662_35405932.amon)" in circular.body
    assert "We apologize for any confusion this may have caused." in lines
    assert "Kafka" not in circular.body and "gcn.notices" not in circular.body
    assert_golden("retraction_circular.txt", circular.as_file())


@pytest.mark.parametrize(
    ("subject", "body", "complaint"),
    [
        ("IceCube-220524A - DRAFT observation", "Text.", "contains 'draft'"),
        ("IceCube-220524A - Re: observation", "Text.", "contains 're:'"),
        ("Observation of IceCube-220524A", "Text.", "must start with the event name"),
        ("IceCube-220524A - observation", "A paragraph that was\nwrapped by hand.", "wrapped over 2 lines"),
        ("IceCube-220524A - observation", "\n".join(["Line."] * 60), "under 60 lines"),
        ("IceCube-220524A - observation", "RA: 47.20 \u00b1 3 deg", "not plain ASCII"),
        ("IceCube-220524A - observation", "Trailing space. ", "trailing whitespace"),
    ],
)
def test_circular_rules_reject_bad_text(subject: str, body: str, complaint: str) -> None:
    with pytest.raises(CircularFormatError, match=re.escape(complaint)):
        check_circular(CircularText(subject, body))


# ----------------------------------------------------------------------------------- Slack


def check_block_kit(message: dict[str, Any]) -> None:
    assert message["text"] and len(message["blocks"]) <= 50
    for block in message["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(field["text"]) <= 2000 for field in block.get("fields", []))


def refined_vars(**overrides: Any) -> RefinedSlackVars:
    values: dict[str, Any] = dict(
        name="IceCube-220524A",
        run_id=136662,
        event_id=35405932,
        stream_title="Bronze",
        public=True,
        revision=1,
        notices_held=True,
        circular_id=7,
        thresholds="calibrated",
        ra_deg=47.197265625,
        dec_deg=-3.2843691083657944,
        ra_plus_90_deg=4.74609375,
        ra_minus_90_deg=2.4609375,
        dec_plus_90_deg=0.821682870474902,
        dec_minus_90_deg=0.8223597107616882,
        err50_deg=0.940906,
        err90_deg=1.719689,
        area_50_deg2=2.97,
        area_90_deg2=9.33714180297423,
        shift_from_rev0_deg=1.6263,
        png_url=PNG_URL,
        healpix_url=HEALPIX_URL,
        scan_ref="scan:12:18c9d5e4f0ax0123456789abcdef0123",
    )
    values.update(overrides)
    return RefinedSlackVars(**values)


def test_slack_refined_golden() -> None:
    payload = Renderer().render_json(SLACK_REFINED_TEMPLATE, refined_vars().as_template_vars())
    message = json.loads(payload)
    check_block_kit(message)
    [image] = [b for b in message["blocks"] if b["type"] == "image"]
    assert image["image_url"] == PNG_URL
    text = json.dumps(message)
    assert "47.20" in text and "-3.28" in text and "+4.75 -2.46" in text and "9.34" in text
    assert "held until the Circular is approved" in text
    assert_golden("slack_refined.json", pretty(payload))
    warned = refined_vars(
        reco_algo="online_gaussian",
        reco_kind="approximation",
        reco_warning="online_gaussian is an approximation, not a reconstruction: its products are held for "
        "approval and are not a refined direction",
    )
    approx = json.loads(Renderer().render_json(SLACK_REFINED_TEMPLATE, warned.as_template_vars()))
    check_block_kit(approx)
    assert approx["text"].startswith(":warning: online_gaussian is an approximation")
    assert "refined localization" not in approx["text"]
    unclassified = refined_vars(name="136662_35405932", public=False, revision=None, circular_id=None)
    other = json.loads(Renderer().render_json(SLACK_REFINED_TEMPLATE, unclassified.as_template_vars()))
    assert "nothing is published" in json.dumps(other) and "not public" in other["blocks"][0]["text"]["text"]


def test_slack_circular_golden() -> None:
    circular = render_circular(Renderer(), CircularKind.TRACK, track())
    variables = CircularSlackVars(
        name="IceCube-220524A",
        circular_id=7,
        kind="track",
        subject=circular.subject,
        body_excerpt=circular.body,
        body_truncated=False,
        notices_held=True,
        approve_command="skymist circular approve IceCube-220524A --by YOUR_NAME",
        reject_command='skymist circular reject IceCube-220524A --reason "WHY" --by YOUR_NAME',
        show_command="skymist circular show IceCube-220524A",
    )
    payload = Renderer().render_json(SLACK_CIRCULAR_TEMPLATE, variables.as_template_vars())
    message = json.loads(payload)
    check_block_kit(message)
    assert "skymist circular approve IceCube-220524A" in json.dumps(message)
    assert_golden("slack_circular.json", pretty(payload))


def test_slack_retraction_golden_and_escaping() -> None:
    variables = RetractionSlackVars(
        name="IceCube-220524A",
        run_id=136662,
        event_id=35405932,
        reason="IceTop: coincident air shower <muon bundle> & no neutrino",
        by="alice",
        previous_state="localized",
        public=True,
        record_number=2,
        cancelled_rows=3,
        superseded_circulars=1,
        circular_id=8,
        approve_command="skymist circular approve IceCube-220524A --by YOUR_NAME",
        reject_command='skymist circular reject IceCube-220524A --reason "WHY" --by YOUR_NAME',
    )
    payload = Renderer().render_json(SLACK_RETRACTION_TEMPLATE, variables.as_template_vars())
    message = json.loads(payload)
    check_block_kit(message)
    text = json.dumps(message)
    assert "&lt;muon bundle&gt; &amp; no neutrino" in text and "<muon bundle>" not in text
    assert_golden("slack_retraction.json", pretty(payload))
