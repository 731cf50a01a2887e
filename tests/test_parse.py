"""Bad input is rejected with a reason naming the field and the value."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from skymist.ingest.messages import AlertEnvelope, GcnNotice, RealtimeEvent
from skymist.ingest.parse import InputError, parse_message

VERSIONS = ["2021a", "2023a", "2024a"]


@pytest.fixture(scope="module")
def real_event(shared_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (shared_dir / "data/real/run00136662-evt000035405932-BRONZE.json").read_text()
    )
    return document


def parse(document: Any, max_bytes: int = 2_000_000) -> Any:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return parse_message(raw, supported_versions=VERSIONS, max_bytes=max_bytes)


def rejected(document: Any, **kw: Any) -> InputError:
    with pytest.raises(InputError) as info:
        parse(document, **kw)
    return info.value


def test_real_messages_parse(shared_dir: Path) -> None:
    for path in sorted((shared_dir / "data/real").glob("*.json")):
        message = parse(path.read_bytes())
        assert isinstance(message, RealtimeEvent)
        assert message.value.version in ("2021a", "2023a")


def test_envelope_and_notice_parse(real_event: dict[str, Any]) -> None:
    envelope = parse(
        {
            "alert": {"stream": "GOLD", "signalness": 0.6, "far_per_year": 0.5, "energy_tev": 200.0},
            "event": real_event,
        }
    )
    assert isinstance(envelope, AlertEnvelope) and envelope.alert.revision == 0
    notice = parse(
        {
            "mission": "IceCube",
            "record_number": 1,
            "id": ["137840_57034692"],
            "alert_type": "update",
            "ra": 345.82,
            "dec": 9.01,
            "trigger_time": "2023-04-16T05:22:26.150574Z",
            "pipeline": "Bronze Track Alert",
        }
    )
    assert isinstance(notice, GcnNotice) and notice.run_event == (137840, 57034692)


def test_wrong_type_names_field_and_value(real_event: dict[str, Any]) -> None:
    bad = copy.deepcopy(real_event)
    bad["value"]["data"]["run_id"] = "one-three-six"
    error = rejected(bad)
    assert error.field == "value.data.run_id"
    assert "'one-three-six'" in str(error)


def test_out_of_range_direction(real_event: dict[str, Any]) -> None:
    bad = copy.deepcopy(real_event)
    bad["value"]["data"]["reco"]["splinempe"]["zen"] = 7.5
    error = rejected(bad)
    assert error.field == "value.data.reco.splinempe.zen" and "7.5" in str(error)


def test_missing_field(real_event: dict[str, Any]) -> None:
    bad = copy.deepcopy(real_event)
    del bad["value"]["data"]["eventtime"]
    error = rejected(bad)
    assert error.field == "value.data.eventtime" and "missing" in str(error)


def test_malformed_and_truncated() -> None:
    assert "not valid JSON" in str(rejected(b"{this is not json"))
    assert "truncated" in str(rejected(b'{"value": {"data": {"run_id": 13'))
    assert "empty" in str(rejected(b"   "))
    assert "is a list" in str(rejected(b"[1, 2]"))


def test_oversized(real_event: dict[str, Any]) -> None:
    error = rejected(real_event, max_bytes=10_000)
    assert "larger than the limit of 10000 bytes" in str(error)


def test_unknown_kind() -> None:
    error = rejected({"hello": "world"})
    assert "unrecognised message" in str(error) and "hello" in str(error)


def legacy_hese_message() -> dict[str, Any]:
    """A message in IceCube's 2016 HESE shape, built from the format (no 2021a event underneath):
    ``value`` has no ``version``, its ``data`` is the list of ``[stream letter, base64(zlib(pickle))]``
    IceTray frames, and the ids exist only inside the frames."""
    import base64
    import pickle
    import zlib

    frames = [
        [letter, base64.b64encode(zlib.compress(pickle.dumps({"frame": letter}, protocol=2))).decode()]
        for letter in "GCDQP"
    ]
    return {
        "_id": "5730ac44f388c5",
        "service": "PFOnlineWriter",
        "varname": "heseEvent",
        "prio": 3,
        "time": "2016-05-09 15:27:00.326413",
        "insert_time": "2016-05-10 10:12:16.693458",
        "value": {"zmqnotify": {"topics": "heseEventFull"}, "data": frames},
    }


def test_legacy_hese_message() -> None:
    error = rejected(legacy_hese_message())
    assert "HESE 2016" in str(error) and "IceTray frames" in str(error)
    assert error.field == "value.data"
    assert "unsupported realtime message version" not in str(error)


def test_legacy_hese_message_inside_an_envelope() -> None:
    base = {"stream": "GOLD", "signalness": 0.5, "far_per_year": 0.5, "energy_tev": 200.0}
    error = rejected({"alert": base, "event": legacy_hese_message()})
    assert "HESE 2016" in str(error) and error.field == "event.value.data"


def test_current_message_without_ids(real_event: dict[str, Any]) -> None:
    no_ids = copy.deepcopy(real_event)
    del no_ids["value"]["data"]["run_id"]
    del no_ids["value"]["data"]["event_id"]
    error = rejected(no_ids)
    assert error.field == "value.data.run_id" and "neither run_id nor event_id" in str(error)
    assert "HESE" not in str(error)


def test_unsupported_version(real_event: dict[str, Any]) -> None:
    bad = copy.deepcopy(real_event)
    bad["value"]["version"] = "1999z"
    error = rejected(bad)
    assert error.field == "value.version" and "'1999z'" in str(error)


def test_envelope_classification_errors(real_event: dict[str, Any]) -> None:
    base = {"stream": "BRONZE", "signalness": 0.4, "far_per_year": 1.0, "energy_tev": 100.0}
    error = rejected({"alert": {**base, "stream": "SILVER"}, "event": real_event})
    assert error.field == "alert.stream" and "'SILVER'" in str(error)
    error = rejected({"alert": {**base, "signalness": 1.7}, "event": real_event})
    assert error.field == "alert.signalness" and "1.7" in str(error)
    error = rejected({"alert": {**base, "colour": "blue"}, "event": real_event})
    assert error.field == "alert.colour"
    error = rejected({"alert": {**base, "err50_deg": 2.0, "err90_deg": 1.0}, "event": real_event})
    assert "err50_deg 2.0 is larger than err90_deg 1.0" in str(error)


def test_notice_with_bad_id() -> None:
    error = rejected(
        {
            "mission": "IceCube",
            "record_number": 0,
            "id": ["not-an-id"],
            "alert_type": "initial",
            "ra": 1.0,
            "dec": 2.0,
            "trigger_time": "2023-04-16T05:22:26Z",
        }
    )
    assert error.field == "id" and "'not-an-id'" in str(error)
