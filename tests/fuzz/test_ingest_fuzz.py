"""Fuzzing the ingest path with hypothesis: structure-aware messages (the typed models' fields with
any JSON value) and byte-level mutations of the real events. Every input is recorded or
dead-lettered with a reason, nothing crashes, and a valid alert after them is still processed.

A modest number of examples by default; ``SKYMIST_FUZZ_EXAMPLES`` (>= 2,000 in CI's long run, the
``slow`` test below) raises it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skymist.ingest.inbox import Ingestor, RawMessage
from skymist.ingest.parse import InputError, parse_message
from tests.helpers import envelope, real_event, with_ids

VERSIONS = ["2021a", "2023a", "2024a"]
REAL = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "real"
    / "run00136662-evt000035405932-BRONZE.json"
)
EVENT: dict[str, Any] = json.loads(REAL.read_text()) if REAL.is_file() else {}
VALID = json.dumps(envelope(EVENT)).encode() if EVENT else b"{}"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
    max_leaves=10,
)
FIELDS = [
    ("alert", "stream"),
    ("alert", "signalness"),
    ("alert", "far_per_year"),
    ("alert", "energy_tev"),
    ("alert", "revision"),
    ("alert", "err50_deg"),
    ("alert", "err90_deg"),
    ("event", "value", "data", "run_id"),
    ("event", "value", "data", "event_id"),
    ("event", "value", "data", "eventtime"),
    ("event", "value", "data", "reco", "splinempe", "zen"),
    ("event", "value", "data", "reco", "splinempe", "azi"),
    ("event", "value", "version"),
    ("event", "value", "streams"),
    ("event", "value"),
    ("event",),
    ("alert",),
]


@st.composite
def structured(draw: st.DrawFn) -> bytes:
    """A real alert envelope with up to three fields replaced by arbitrary JSON (or removed), and
    arbitrary extra keys."""
    document = envelope(EVENT)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(FIELDS))
        target = document
        for key in path[:-1]:
            target = target.get(key) if isinstance(target, dict) else None  # type: ignore[assignment]
            if not isinstance(target, dict):
                break
        if isinstance(target, dict):
            if draw(st.booleans()):
                target[path[-1]] = draw(json_values)
            else:
                target.pop(path[-1], None)
    if draw(st.booleans()):
        document[draw(st.text(max_size=300))] = draw(json_values)
    return json.dumps(document).encode()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """The real envelope's bytes with random splices, deletions, insertions and flips."""
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "delete", "insert", "splice", "truncate"]))
        if kind == "flip":
            data[where] ^= 1 << draw(st.integers(0, 7))
        elif kind == "delete":
            del data[where : where + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=32))
        elif kind == "splice":
            start = draw(st.integers(0, len(VALID) - 1))
            data[where:where] = VALID[start : start + draw(st.integers(1, 200))]
        else:
            del data[where:]
        if not data:
            break
    return bytes(data)


def _parse_never_crashes(raw: bytes) -> None:
    try:
        parse_message(raw, supported_versions=VERSIONS, max_bytes=2_000_000)
    except InputError as exc:
        assert str(exc)  # a reason is given


EXAMPLES = int(os.environ.get("SKYMIST_FUZZ_EXAMPLES", "60"))


@pytest.mark.skipif(not EVENT, reason="the real event is missing")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(structured(), mutated()))
def test_the_parser_never_crashes(raw: bytes) -> None:
    _parse_never_crashes(raw)


def _ingest_everything(app: Any, inputs: list[bytes], shared_dir: Path) -> None:
    ingestor = Ingestor(app)
    messages = [RawMessage("fuzz", k % 4, k // 4, raw) for k, raw in enumerate(inputs)]
    for start in range(0, len(messages), 50):
        results = ingestor.ingest_batch(messages[start : start + 50])
        for result in results:
            assert result.status in ("processed", "duplicate", "dead_letter", "redelivered"), result
            if result.status == "dead_letter":
                assert result.summary, result
    # a valid alert after all of them is still processed
    after = json.dumps(envelope(with_ids(real_event(shared_dir), 149999, 1))).encode()
    [last] = ingestor.ingest_batch([RawMessage("fuzz", 0, 10**9, after)])
    assert last.status == "processed", last


def _draw(count: int) -> list[bytes]:
    out: list[bytes] = []
    strategy = st.one_of(structured(), mutated())

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(strategy)
    def collect(raw: bytes) -> None:
        out.append(raw)

    collect()
    return out


@pytest.mark.skipif(not EVENT, reason="the real event is missing")
def test_fuzzed_inputs_are_recorded_or_dead_lettered(app_factory: Any, shared_dir: Path) -> None:
    app = app_factory()
    _ingest_everything(app, _draw(EXAMPLES), shared_dir)


@pytest.mark.slow
@pytest.mark.skipif(not EVENT, reason="the real event is missing")
def test_two_thousand_fuzzed_inputs(app_factory: Any, shared_dir: Path) -> None:
    app = app_factory()
    inputs = _draw(max(2000, EXAMPLES))
    _ingest_everything(app, inputs, shared_dir)
    print(f"fuzzed inputs: {len(inputs)}, metrics: {app.metrics.snapshot()}")
