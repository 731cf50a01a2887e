"""localize_alert on IceCube-220524A's real scan, through real PostgreSQL: the refined revision,
files, outbox rows and Circular draft, exactly once; unclassified events; rescans; bad input."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from skymist.alerts.refined import localize_alert
from skymist.outbox.queue import HELD_UNTIL
from skymist.skymap.errors import LocalizationError
from skymist.states import AlertState, CircularState, OutboxState
from skymist.store.models import Alert, AlertRevision
from skymist.store.product_models import Circular, Localization
from skymist.store.types import utcnow
from tests.refine.support import mark_localization_pending, outbox, products, record_alert
from tests.support.gcn_schema import notice_validator

SLACK = {"slack_mode": "webhook", "slack_webhook_url": "http://127.0.0.1:9/hook"}
BASE_URL = "https://alerts.example.org/public"


def settings(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {**SLACK, "data_dir": tmp_path, "public_base_url": BASE_URL, **extra}


@pytest.mark.slow
def test_real_scan_gives_rev1_circular_files_and_products_once(
    app_factory: Any, shared_dir: Path, tmp_path: Path, real_scan_json: bytes
) -> None:
    app = app_factory(**settings(tmp_path))
    alert_id = record_alert(app, shared_dir)
    mark_localization_pending(app, alert_id)

    outcome = localize_alert(
        app, alert_id, real_scan_json, scan_ref="scan:1:18c9d5e4f0ax00000000000000000001"
    )

    assert outcome.status == "created" and outcome.revision == 1 and not outcome.notices_held
    assert sorted(outcome.queued_products) == ["notice_json", "slack_circular", "slack_refined", "voevent"]
    with app.sessions() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None and alert.state == AlertState.LOCALIZED
        rev0, rev1 = alert.revisions
        loc = session.execute(select(Localization)).scalar_one()
        [circular] = session.execute(select(Circular)).scalars()
    # published values of IceCube-220524A (IceCat-1 and the Rev 1 notice)
    assert abs(rev1.ra_deg - 47.20) < 0.02 and abs(rev1.dec_deg + 3.28) < 0.02
    assert abs(loc.ra_plus_90_deg - 4.75) < 0.01 and abs(loc.ra_minus_90_deg - 2.46) < 0.01
    assert abs(loc.dec_plus_90_deg - 0.82) < 0.01 and abs(loc.dec_minus_90_deg - 0.82) < 0.01
    assert abs(loc.area_90_deg2 - 9.34) < 0.05 and loc.thresholds == "calibrated"
    cos_dec = math.cos(math.radians(loc.dec_deg))
    expected90 = math.sqrt(
        (4.74609375 + 2.4609375) / 2 * cos_dec * (loc.dec_plus_90_deg + loc.dec_minus_90_deg) / 2
    )
    assert rev1.err90_deg == pytest.approx(expected90, rel=1e-9)
    assert rev1.err50_deg == pytest.approx(
        math.sqrt(
            (loc.ra_plus_50_deg + loc.ra_minus_50_deg)
            / 2
            * cos_dec
            * (loc.dec_plus_50_deg + loc.dec_minus_50_deg)
            / 2
        )
    )
    assert rev1.err50_deg < rev1.err90_deg
    assert (rev1.signalness, rev1.far_per_year, rev1.energy_tev) == (
        rev0.signalness,
        rev0.far_per_year,
        rev0.energy_tev,
    )

    # files: where they belong, complete, with the recorded sha256
    folder = tmp_path.absolute() / "skymaps" / "IceCube-220524A"
    assert outcome.files is not None
    for file in outcome.files.all():
        assert file.path.parent == folder and file.path.name.startswith("IceCube-220524A_rev1.")
        assert hashlib.sha256(file.path.read_bytes()).hexdigest() == file.sha256
    assert (
        loc.multiorder_fits_sha256 == hashlib.sha256(Path(loc.multiorder_fits_path).read_bytes()).hexdigest()
    )
    assert loc.png_sha256 == hashlib.sha256(Path(loc.png_path).read_bytes()).hexdigest()
    assert Path(loc.png_path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the picture as PDF too, a file of the alert beside the PNG, at its public URL
    assert loc.pdf_path is not None and loc.pdf_path == str(Path(loc.png_path).with_suffix(".pdf"))
    assert loc.pdf_sha256 == hashlib.sha256(Path(loc.pdf_path).read_bytes()).hexdigest()
    assert Path(loc.pdf_path).read_bytes()[:5] == b"%PDF-"
    assert outcome.files.pdf is not None and outcome.files.pdf in outcome.files.all()
    assert outcome.files.pdf.url == f"{BASE_URL}/IceCube-220524A/IceCube-220524A_rev1.skymap.pdf"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no staging left behind
    healpix_url = f"{BASE_URL}/IceCube-220524A/IceCube-220524A_rev1.skymap.multiorder.fits.gz"
    assert loc.healpix_url == healpix_url and outcome.files.multiorder_fits.url == healpix_url

    # the Circular draft awaits approval and states the refined direction
    assert circular.state == CircularState.AWAITING_APPROVAL and circular.revision == 1
    assert circular.subject == (
        "IceCube-220524A - IceCube observation of a high-energy neutrino candidate track-like event"
    )
    lines = circular.body.splitlines()
    assert "RA: 47.20 (+4.75, -2.46 deg 90% PSF containment) J2000" in lines
    assert "Dec: -3.28 (+0.82, -0.82 deg 90% PSF containment) J2000" in lines
    assert healpix_url in circular.body

    # the Rev 1 notice and VOEvent
    rows = outbox(app, alert_id)
    [notice_row] = [r for r in rows if r.product == "notice_json" and r.revision == 1]
    notice = json.loads(notice_row.payload)
    validator, _ = notice_validator()
    assert not [e.message for e in validator.iter_errors(notice)]
    assert (notice["record_number"], notice["alert_type"], notice["systematic_included"]) == (
        1,
        "update",
        True,
    )
    assert notice["healpix_url"] == healpix_url and notice["ra_dec_error"] == round(rev1.err90_deg, 4)
    [voevent_row] = [r for r in rows if r.product == "voevent" and r.revision == 1]
    cite = ElementTree.fromstring(voevent_row.payload).find("Citations/EventIVORN")
    assert cite is not None and cite.get("cite") == "supersedes" and (cite.text or "").endswith("_0")
    [slack_row] = [r for r in rows if r.product == "slack_refined"]
    slack = json.loads(slack_row.payload)
    assert [b["image_url"] for b in slack["blocks"] if b["type"] == "image"] == [
        f"{BASE_URL}/IceCube-220524A/IceCube-220524A_rev1.skymap.png"
    ]

    # the same scan again: nothing more
    again = localize_alert(app, alert_id, real_scan_json, scan_ref="scan:1:18c9d5e4f0ax00000000000000000001")
    assert again.status == "duplicate" and again.localization_id == outcome.localization_id
    assert again.queued_products == () and again.revision == 1
    assert len(outbox(app, alert_id)) == len(rows)
    assert products(rows) == [
        ("notice_json", 0),
        ("notice_json", 1),
        ("slack_alert", 0),
        ("slack_circular", 1),
        ("slack_refined", 1),
        ("voevent", 0),
        ("voevent", 1),
    ]
    with app.sessions() as session:
        assert len(session.execute(select(Localization)).all()) == 1
        assert len(session.execute(select(AlertRevision)).all()) == 2
        assert len(session.execute(select(Circular)).all()) == 1


def test_whole_result_body_and_held_notices(
    app_factory: Any, shared_dir: Path, tmp_path: Path, real_scan_doc: dict[str, Any]
) -> None:
    app = app_factory(**settings(tmp_path, rev1_requires_approval=True))
    alert_id = record_alert(app, shared_dir)
    mark_localization_pending(app, alert_id)
    body = {"scan_id": "18c9d5e4f0ax00000000000000000002", "skyscan_result": real_scan_doc, "is_final": True}
    outcome = localize_alert(app, alert_id, json.dumps(body).encode(), scan_ref="scan:2:body")
    assert outcome.status == "created" and outcome.revision == 1 and outcome.notices_held
    held = [r for r in outbox(app, alert_id) if r.revision == 1 and r.product in ("notice_json", "voevent")]
    assert len(held) == 2
    assert all(r.state == OutboxState.PENDING and r.next_attempt_at == HELD_UNTIL for r in held)
    assert all(r.next_attempt_at > utcnow() for r in held)  # not due: no dispatcher claims them


def test_unclassified_event_gets_localization_and_slack_only(
    app_factory: Any, shared_dir: Path, tmp_path: Path, real_scan_json: bytes
) -> None:
    app = app_factory(**settings(tmp_path))
    alert_id = record_alert(app, shared_dir, classified=False)
    mark_localization_pending(app, alert_id)
    outcome = localize_alert(app, alert_id, real_scan_json, scan_ref="scan:3:x")
    assert outcome.status == "created" and outcome.revision is None and outcome.circular_id is None
    assert outcome.queued_products == ("slack_refined",)
    assert outcome.files is not None
    assert outcome.files.png.path.name.startswith("136662_35405932_scan1.")
    assert outcome.files.png.path.parent.name == "136662_35405932"
    with app.sessions() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None and alert.state == AlertState.LOCALIZED and len(alert.revisions) == 1
        assert session.execute(select(Circular)).first() is None
        assert session.execute(select(Localization.revision)).scalar_one() is None
    slack = json.loads(outbox(app, alert_id)[0].payload)
    assert "nothing is published" in json.dumps(slack)


@pytest.mark.slow
def test_rescan_supersedes_the_unapproved_draft_and_held_notices(
    app_factory: Any, shared_dir: Path, tmp_path: Path, real_scan_json: bytes
) -> None:
    app = app_factory(**settings(tmp_path, rev1_requires_approval=True))
    alert_id = record_alert(app, shared_dir)
    mark_localization_pending(app, alert_id)
    first = localize_alert(app, alert_id, real_scan_json, scan_ref="scan:4:first")
    mark_localization_pending(app, alert_id)  # a newer final scan was stored (rescan)
    second = localize_alert(app, alert_id, real_scan_json, scan_ref="scan:5:second")

    assert (first.revision, second.revision) == (1, 2)
    assert second.superseded_circulars == (first.circular_id,)
    with app.sessions() as session:
        states = dict(session.execute(select(Circular.id, Circular.state)).all())
        reason = session.execute(
            select(Circular.state_reason).where(Circular.id == first.circular_id)
        ).scalar_one()
    assert states == {
        first.circular_id: CircularState.SUPERSEDED,
        second.circular_id: CircularState.AWAITING_APPROVAL,
    }
    assert reason is not None and "scan:5:second" in reason
    rows = outbox(app, alert_id)
    assert products(rows, OutboxState.CANCELLED) == [("notice_json", 1), ("voevent", 1)]
    rev2 = [r for r in rows if r.revision == 2 and r.product in ("notice_json", "voevent")]
    assert len(rev2) == 2 and all(r.next_attempt_at == HELD_UNTIL for r in rev2)
    notice2 = json.loads(rev2[0].payload if rev2[0].product == "notice_json" else rev2[1].payload)
    assert notice2["record_number"] == 2 and notice2["healpix_url"].endswith(
        "IceCube-220524A_rev2.skymap.multiorder.fits.gz"
    )
    assert first.files is not None and second.files is not None
    for old, new in zip(first.files.all(), second.files.all(), strict=True):
        assert old.path.is_file() and new.path.is_file() and old.path != new.path  # Rev 1's map stays


def test_bad_input_is_refused_with_the_field_named(
    app_factory: Any, shared_dir: Path, tmp_path: Path, real_scan_doc: dict[str, Any], real_scan_json: bytes
) -> None:
    app = app_factory(**settings(tmp_path))
    alert_id = record_alert(app, shared_dir)
    with pytest.raises(LocalizationError, match="state = 'prompt_queued'"):
        localize_alert(app, alert_id, real_scan_json, scan_ref="scan:6:early")
    mark_localization_pending(app, alert_id)
    partial = {"scan_id": "x", "skyscan_result": real_scan_doc, "is_final": False}
    with pytest.raises(LocalizationError, match="is_final = False"):
        localize_alert(app, alert_id, json.dumps(partial).encode(), scan_ref="scan:6:partial")
    other = {
        key: {**layer, "metadata": {**layer["metadata"], "run_id": 999999}}
        for key, layer in real_scan_doc.items()
    }
    with pytest.raises(LocalizationError, match=r"metadata.run_id = 999999"):
        localize_alert(app, alert_id, json.dumps(other).encode(), scan_ref="scan:6:other")
    with pytest.raises(ValueError, match="empty"):
        localize_alert(
            app, alert_id, b'{"scan_id": "x", "skyscan_result": {}, "is_final": true}', scan_ref="s:7"
        )
    with pytest.raises(LocalizationError, match="not JSON"):
        localize_alert(app, alert_id, b"\x00garbage", scan_ref="scan:6:garbage")
    with app.sessions() as session:
        assert session.execute(select(Localization)).first() is None
        assert session.execute(select(Alert.state)).scalar_one() == AlertState.LOCALIZED_PENDING
    assert not (tmp_path / "skymaps").exists() or not any((tmp_path / "skymaps").rglob("*.fits.gz"))


def _made_by(doc: dict[str, Any], **meta: Any) -> bytes:
    return json.dumps(
        {key: {**layer, "metadata": {**layer["metadata"], **meta}} for key, layer in doc.items()}
    ).encode()


def test_an_approximation_is_held_named_and_never_called_refined(
    app_factory: Any, shared_dir: Path, tmp_path: Path, real_scan_doc: dict[str, Any]
) -> None:
    from astropy.io import fits

    app = app_factory(**settings(tmp_path))  # rev1_requires_approval is off: only the reco kind holds it
    alert_id = record_alert(app, shared_dir)
    mark_localization_pending(app, alert_id)
    result = _made_by(
        real_scan_doc, reco_algo="online_gaussian", reco_kind="approximation", region_method="wilks"
    )
    outcome = localize_alert(app, alert_id, result, scan_ref="scan:8:approx")
    assert outcome.status == "created" and outcome.notices_held
    assert (outcome.reco_algo, outcome.reco_kind) == ("online_gaussian", "approximation")
    assert "WARNING: online_gaussian is an approximation" in outcome.summary
    rows = outbox(app, alert_id)
    held = [r for r in rows if r.revision == 1 and r.product in ("notice_json", "voevent")]
    assert len(held) == 2 and all(r.next_attempt_at.year == 9999 for r in held)
    notice = json.loads(next(r.payload for r in held if r.product == "notice_json"))
    assert notice["systematic_included"] is False and "online_gaussian" in notice["additional_info"]
    voevent = next(r.payload for r in held if r.product == "voevent").decode()
    assert "online_gaussian" in voevent and "statistical and systematic" not in voevent
    [slack] = [json.loads(r.payload) for r in rows if r.product == "slack_refined"]
    assert "online_gaussian is an approximation" in slack["text"]
    with app.sessions() as session:
        loc = session.execute(select(Localization)).scalar_one()
        [circular] = session.execute(select(Circular)).scalars()
    assert loc.thresholds == "wilks"  # the reco's own region method, not the calibrated 22.2 / 64.2
    public = circular.body.lower()
    assert "online_gaussian" in public and "refined" not in public.replace("not a refined direction", "")
    assert "systematic uncertainties included" not in public
    header = fits.getheader(loc.multiorder_fits_path, 1)
    assert (header["RECOALGO"], header["RECOKIND"]) == ("online_gaussian", "approximation")


@pytest.mark.slow
def test_the_plan_entry_declares_what_a_skydriver_result_does_not(
    app_factory: Any, shared_dir: Path, tmp_path: Path, real_scan_doc: dict[str, Any]
) -> None:
    from skymist.reco_plans import skydriver_plans

    app = app_factory(**settings(tmp_path))
    alert_id = record_alert(app, shared_dir)
    mark_localization_pending(app, alert_id)
    silent = {
        key: {
            **layer,
            "metadata": {k: v for k, v in layer["metadata"].items() if not k.startswith(("reco", "region"))},
        }
        for key, layer in real_scan_doc.items()
    }
    plan = skydriver_plans()["BRONZE"][0].model_dump(mode="json")
    outcome = localize_alert(app, alert_id, json.dumps(silent).encode(), scan_ref="scan:9:sd", plan=plan)
    assert (outcome.reco_algo, outcome.reco_kind, outcome.notices_held) == (
        "splinempe",
        "reconstruction",
        False,
    )
    # a result nobody describes is an approximation: held
    mark_localization_pending(app, alert_id)
    unknown = localize_alert(app, alert_id, json.dumps(silent).encode(), scan_ref="scan:10:unknown")
    assert (unknown.reco_kind, unknown.notices_held) == ("approximation", True)
