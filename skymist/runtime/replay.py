"""Replays: files and folders of messages, or a Kafka topic from an offset or a time, through the
very same inbox and handlers as the daemon. Idempotent: a message already recorded is recognised.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from skymist.app import App
from skymist.ingest.inbox import Ingestor, IngestResult, RawMessage
from skymist.kafka_clients import KafkaConsumer, base_config

Progress = Callable[[int, int | None], None]


class ReplayError(ValueError):
    """A replay request that cannot be served (the message says why)."""


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, and ``*.json`` / ``*.jsonl`` files inside folders named (sorted)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl"))
        elif path.is_file():
            yield path
        else:
            raise ReplayError(f"path {str(path)!r} does not exist")


def file_messages(path: Path) -> list[RawMessage]:
    """One message per ``.json`` file; one per non-empty line of a ``.jsonl`` file.

    The source key is the content hash, so replaying the same bytes twice is recognised.
    """
    data = path.read_bytes()
    chunks = [line for line in data.splitlines() if line.strip()] if path.suffix == ".jsonl" else [data]
    out = []
    for index, chunk in enumerate(chunks):
        digest = hashlib.sha256(chunk).hexdigest()[:24]
        out.append(
            RawMessage(
                topic=f"file:{digest}",
                partition=0,
                offset=index if path.suffix == ".jsonl" else 0,
                value=chunk,
                key=path.name.encode(),
            )
        )
    return out


def replay_files(
    app: App, paths: Iterable[str | Path], progress: Progress | None = None
) -> list[IngestResult]:
    files = list(iter_files(paths))
    ingestor = Ingestor(app)
    results: list[IngestResult] = []
    for done, path in enumerate(files, start=1):
        for result in ingestor.ingest_batch(file_messages(path)):
            results.append(
                IngestResult(
                    str(path),
                    result.status,
                    result.summary,
                    result.inbox_id,
                    result.alert_id,
                    result.outbox_rows,
                )
            )
        if progress is not None:
            progress(done, len(files))
    return results


def _replay_consumer(app: App) -> KafkaConsumer:
    return Consumer(
        {
            **base_config(app.settings),
            "group.id": f"skymist-replay-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": "false",
            "enable.partition.eof": "true",
            "auto.offset.reset": "earliest",
        }
    )


def replay_topic(
    app: App,
    topic: str,
    *,
    from_offset: int | None = None,
    from_time: dt.datetime | None = None,
    partitions: list[int] | None = None,
    batch: int = 100,
    progress: Progress | None = None,
) -> list[IngestResult]:
    """Re-read ``topic`` from an offset (per partition) or a time, up to its end when the replay began."""
    if (from_offset is None) == (from_time is None):
        raise ReplayError("give exactly one of --from-offset and --from-time")
    consumer = _replay_consumer(app)
    try:
        chosen = _partitions(app, consumer, topic, partitions)
        starts, ends, min_ts = _plan(consumer, topic, chosen, from_offset, from_time)
        assignments = [TopicPartition(topic, p, starts[p]) for p in chosen if starts[p] < ends[p]]
        if not assignments:
            return []
        consumer.assign(assignments)
        reading = _Reading(topic, ends, min_ts, {tp.partition for tp in assignments})
        total = sum(ends[p] - starts[p] for p in chosen)
        ingestor = Ingestor(app)
        results: list[IngestResult] = []
        while reading.remaining:
            # ask for no more than is left: consume() waits its whole timeout for a batch not there
            messages = consumer.consume(num_messages=max(1, min(batch, total - reading.seen)), timeout=5.0)
            if not messages:
                raise ReplayError(
                    f"topic {topic!r} stopped answering before its end; {reading.seen} of {total} read"
                )
            pending = [raw for raw in map(reading.take, messages) if raw is not None]
            if pending:
                results.extend(ingestor.ingest_batch(pending))
            if progress is not None:
                progress(reading.seen, total)
        return results
    finally:
        consumer.close()


def _partitions(app: App, consumer: KafkaConsumer, topic: str, partitions: list[int] | None) -> list[int]:
    """The partitions to read (all of the topic's when none are named), checked against the topic's."""
    try:
        metadata = consumer.list_topics(topic, timeout=10)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        reason = error.str() if isinstance(error, KafkaError) else str(exc)
        raise ReplayError(
            f"cannot read topic {topic!r}: Kafka at {app.settings.kafka_bootstrap_servers} did not "
            f"answer ({reason}); is Kafka up? check kafka_bootstrap_servers"
        ) from None
    described = metadata.topics.get(topic)
    if described is None or described.error is not None or not described.partitions:
        raise ReplayError(f"topic {topic!r} does not exist on {app.settings.kafka_bootstrap_servers}")
    chosen = sorted(partitions if partitions is not None else described.partitions)
    unknown = set(chosen) - set(described.partitions)
    if unknown:
        raise ReplayError(f"topic {topic!r} has no partition {sorted(unknown)}")
    return chosen


@dataclass
class _Reading:
    """The state of one replay's reading: partitions not at their end yet, messages seen."""

    topic: str
    ends: dict[int, int]
    min_ts: int | None
    remaining: set[int]
    seen: int = 0

    def take(self, message: Any) -> RawMessage | None:
        """The message to record, or None (an end reached, or before the time asked for)."""
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                self.remaining.discard(message.partition())
                return None
            raise ReplayError(f"reading {self.topic!r}: {error.str()}")
        partition, offset = message.partition(), message.offset()
        if partition not in self.remaining or offset >= self.ends[partition]:
            self.remaining.discard(partition)
            return None
        self.seen += 1
        _kind, ts = message.timestamp()
        if offset + 1 >= self.ends[partition]:
            self.remaining.discard(partition)
        if self.min_ts is not None and ts is not None and 0 < ts < self.min_ts:
            return None
        value = message.value() or b""
        return RawMessage(self.topic, partition, offset, value, message.key(), ts if ts and ts > 0 else None)


def _plan(
    consumer: KafkaConsumer,
    topic: str,
    partitions: list[int],
    from_offset: int | None,
    from_time: dt.datetime | None,
) -> tuple[dict[int, int], dict[int, int], int | None]:
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    min_ts: int | None = None
    for p in partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        ends[p] = int(high)
        starts[p] = max(int(low), from_offset) if from_offset is not None else int(low)
    if from_time is not None:
        if from_time.tzinfo is None:
            raise ReplayError(
                f"--from-time {from_time.isoformat()!r} needs a time zone (e.g. ...Z or +00:00)"
            )
        min_ts = int(from_time.timestamp() * 1000)
        found = consumer.offsets_for_times([TopicPartition(topic, p, min_ts) for p in partitions], timeout=10)
        for tp in found:
            # brokers that cannot look times up answer -1: read from the start and filter by timestamp
            if tp.error is None and tp.offset >= 0:
                starts[tp.partition] = max(starts[tp.partition], tp.offset)
    return starts, ends, min_ts
