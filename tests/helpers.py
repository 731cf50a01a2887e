"""Small helpers shared by tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from skymist.ingest.inbox import RawMessage

_offsets: dict[str, int] = {}


def raw(document: Any, topic: str = "test-topic", partition: int = 0) -> RawMessage:
    """A RawMessage at the next offset of ``topic``."""
    value = document if isinstance(document, bytes) else json.dumps(document).encode()
    offset = _offsets.get(topic, 0)
    _offsets[topic] = offset + 1
    return RawMessage(topic=topic, partition=partition, offset=offset, value=value)


def real_event(shared_dir: Path, name: str = "run00136662-evt000035405932-BRONZE.json") -> dict[str, Any]:
    document: dict[str, Any] = json.loads((shared_dir / "data" / "real" / name).read_text())
    return document


def envelope(event: dict[str, Any], stream: str = "BRONZE", **alert: Any) -> dict[str, Any]:
    classification = {"stream": stream, "signalness": 0.3834, "far_per_year": 2.0054, "energy_tev": 114.92, **alert}
    return {"alert": classification, "event": copy.deepcopy(event)}


def with_ids(event: dict[str, Any], run_id: int, event_id: int, eventtime: str | None = None) -> dict[str, Any]:
    out = copy.deepcopy(event)
    out["value"]["data"]["run_id"] = run_id
    out["value"]["data"]["event_id"] = event_id
    if eventtime is not None:
        out["value"]["data"]["eventtime"] = eventtime
    return out
