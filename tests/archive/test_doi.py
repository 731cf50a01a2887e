"""DOIs through the DataCite sink against a strict local stand-in: draft until the first public
revision, findable after; versions linked; every distinct record registered exactly once (retried
after a 500); a retraction updates every version."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from skymist.alerts.refined import localize_alert
from skymist.alerts.retraction import retract
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.sinks.factory import build_sinks
from skymist.states import OutboxState
from skymist.store.models import OutboxRow
from tests.archive.support import drain, settings_for
from tests.refine.support import mark_localization_pending, record_alert
from tests.support.datacite_api import DataCiteStandIn
from tests.support.slack_api import SlackStandIn

CONCEPT = "10.5072/icecube.alert.136662.35405932"


@pytest.fixture
def datacite() -> Iterator[DataCiteStandIn]:
    with DataCiteStandIn() as stand_in:
        yield stand_in


def relations(record: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["relationType"], r["relatedIdentifier"]) for r in record["relatedIdentifiers"]}


@pytest.mark.slow
def test_doi_draft_then_findable_versions_linked_retraction_marked(
    app_factory: Any,
    shared_dir: Path,
    tmp_path: Path,
    real_scan_json: bytes,
    datacite: DataCiteStandIn,
    slack: SlackStandIn,
) -> None:
    app = app_factory(
        **settings_for(tmp_path),
        datacite_enabled=True,
        datacite_api_url=datacite.url,
        datacite_username=datacite.username,
        datacite_password=datacite.password,
        slack_mode="webhook",
        slack_webhook_url=f"{slack.url}/webhook/T0/B0/secret",
    )
    alert_id = record_alert(app, shared_dir)
    sinks = build_sinks(app.settings)
    # only Slack goes out first: nothing public yet, so the alert's DOI is registered as a draft
    early = Dispatcher(app, {"slack": sinks["slack"], "datacite": sinks["datacite"]})
    try:
        assert early.drain(timeout_s=30).sent == 2  # the Slack message, then the draft registration
    finally:
        early.close()
    assert datacite.dois[CONCEPT]["state"] == "draft" and "event" not in datacite.accepted[0][1]

    datacite.fail_next = 1  # DataCite answers 500 once: the registration is retried
    drain(app)  # Rev 0 notice and VOEvent: the alert is public
    assert datacite.dois[CONCEPT]["state"] == "findable"
    assert datacite.dois[f"{CONCEPT}.r0"]["state"] == "findable"

    mark_localization_pending(app, alert_id)
    localize_alert(app, alert_id, real_scan_json, scan_ref="scan:1:final")
    drain(app)
    r0, r1 = datacite.dois[f"{CONCEPT}.r0"], datacite.dois[f"{CONCEPT}.r1"]
    assert ("IsPreviousVersionOf", f"{CONCEPT}.r1") in relations(r0)
    assert ("IsNewVersionOf", f"{CONCEPT}.r0") in relations(r1) and ("IsVersionOf", CONCEPT) in relations(r1)
    assert {("HasVersion", f"{CONCEPT}.r0"), ("HasVersion", f"{CONCEPT}.r1")} <= relations(
        datacite.dois[CONCEPT]
    )
    # the VOEvent's IVORN is no related identifier (DataCite has no type for an ivo:// URI; it is no
    # URL): a description names it; IceCat-1 is referenced by its DOI
    for record in (r0, r1, datacite.dois[CONCEPT]):
        assert not [i for _t, i in relations(record) if i.startswith("ivo://")]
        assert {r["relatedIdentifierType"] for r in record["relatedIdentifiers"]} <= {"DOI", "URL"}
        assert ("References", "10.3847/1538-4365/acfa95") in relations(record)
    ivorns = [d["description"] for d in r1["descriptions"] if "ivo://" in d["description"]]
    assert len(ivorns) == 1 and ivorns[0].startswith("VOEvent IVORN of revision 1: ivo://nasa.gsfc.gcn/AMON#")
    assert ivorns[0].endswith("_136662_035405932_1")
    assert "47.20" in next(
        d["description"] for d in r1["descriptions"] if d["descriptionType"] == "TechnicalInfo"
    )

    retract(app, alert_id, "Event likely due to background", by="dave")
    drain(app)
    for doi in (CONCEPT, f"{CONCEPT}.r0", f"{CONCEPT}.r1"):
        record = datacite.dois[doi]
        assert record["titles"][0]["title"].startswith("RETRACTED: ") and record["state"] == "findable"
        assert any(d["dateType"] == "Withdrawn" for d in record["dates"])
        assert "RETRACTED: Event likely due to background" in [
            d["description"] for d in record["descriptions"]
        ]

    assert datacite.refused == []
    bodies = Counter((doi, json.dumps(attrs, sort_keys=True)) for doi, attrs in datacite.accepted)
    assert max(bodies.values()) == 1  # every distinct record registered exactly once
    with app.sessions() as session:
        states = Counter(
            session.execute(select(OutboxRow.state).where(OutboxRow.sink == "datacite")).scalars()
        )
    assert set(states) <= {OutboxState.SENT, OutboxState.CANCELLED}
    assert drain(app) == 0  # nothing more to register
