"""``skymist demo``: the whole prompt path on an embedded default, with nothing configured.

It starts a Kafka-protocol broker inside this process (librdkafka's mock cluster), a SQLite store
in a work folder, produces a handful of realistic alerts (plus one bare event and one malformed
message), runs the very daemon code over them, and prints what came out: the alerts, the notices
and VOEvents read back from the broker (also written to files), and the Slack messages (printed).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from confluent_kafka import Consumer, Producer
from sqlalchemy import func, select

from skymist.app import build_app
from skymist.config import Settings
from skymist.jsonlog import configure_logging
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.sinks.factory import build_sinks
from skymist.service import Daemon
from skymist.simulate import alert_batch, draw_alert, event_message
from skymist.states import OutboxState
from skymist.store.db import upgrade
from skymist.store.models import Alert, DeadLetter, InboxMessage, OutboxRow
from skymist.views import alert_view

REALTIME_TOPIC = "icecube.realtime.events"


@dataclass(frozen=True)
class DemoResult:
    alerts: int
    products_sent: int
    dead_letters: int
    folder: Path


def _say(out: TextIO, text: str) -> None:
    print(text, file=out, flush=True)


def _read_back(bootstrap: str, topic: str, folder: Path, suffix: str) -> list[Path]:
    """Every message of ``topic`` (all partitions, from the start), each written to a file."""
    from confluent_kafka import KafkaError, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"demo-reader-{topic}",
            "enable.partition.eof": True,
            "log_level": 2,
        }
    )
    partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    remaining = set(partitions)
    paths: list[Path] = []
    deadline = time.monotonic() + 30
    while remaining and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                remaining.discard(message.partition())
            continue
        path = folder / ((message.key() or b"message").decode() + suffix)
        path.write_bytes(message.value() or b"")
        paths.append(path)
    consumer.close()
    return sorted(paths)


def run_demo(
    folder: Path, n_alerts: int = 5, out: TextIO = sys.stdout, timeout_s: float = 120.0
) -> DemoResult:
    folder = folder.resolve()
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "products").mkdir(parents=True)
    configure_logging("ERROR")
    _say(out, f"SkyMist demo: work folder {folder}")

    broker = Producer({"test.mock.num.brokers": 1, "log_level": 2})
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in broker.list_topics(timeout=10).brokers.values())
    _say(out, f"[1/5] Kafka-protocol broker (librdkafka mock cluster) listening on {bootstrap}")

    settings = Settings(
        database_url=f"sqlite:///{folder / 'skymist-demo.sqlite'}",
        kafka_bootstrap_servers=bootstrap,
        kafka_topics=[REALTIME_TOPIC],
        kafka_group_id="skymist-demo",
        slack_mode="console",
        alert_tense="test",
        data_dir=folder,
        log_level="ERROR",
        kafka_config={"log_level": "2"},
    )
    app = build_app(settings)
    upgrade(app.engine)
    _say(out, f"[2/5] store ready: {folder / 'skymist-demo.sqlite'} (schema migrated with Alembic)")

    rng = random.Random(2026)
    messages = [value for _alert, value in alert_batch(n_alerts, seed=7, size_bytes=150_000)]
    bare = draw_alert(rng, 140999, 424242, dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC))
    messages.append(json.dumps(event_message(bare, rng, 100_000)).encode())
    messages.append(b'{"alert": {"stream": "GOLD", "signalness": "high"}, "event": {}}')
    producer = Producer({"bootstrap.servers": bootstrap, "log_level": 2})
    for value in messages:  # one partition, so the demo's names follow the order of the messages
        producer.produce(REALTIME_TOPIC, value, partition=0)
    producer.flush(30)
    sizes = sorted(len(m) for m in messages)
    _say(
        out,
        f"[3/5] produced {len(messages)} messages to {REALTIME_TOPIC!r}: {n_alerts} classified alerts, "
        f"1 bare event, 1 malformed ({sizes[0]}-{sizes[-1]} bytes)",
    )

    _say(out, "[4/5] running the daemon (consumer + outbox dispatcher); Slack messages follow:")
    daemon = Daemon(app, _consumer(settings), Dispatcher(app, build_sinks(settings, console=out)))
    expected_products = 3 * n_alerts
    deadline = time.monotonic() + timeout_s
    last_report = ""

    def finished() -> bool:
        nonlocal last_report
        with app.sessions() as session:
            seen = session.execute(select(func.count()).select_from(InboxMessage)).scalar_one()
            sent = session.execute(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.state == OutboxState.SENT)
            ).scalar_one()
        report = f"      progress: {seen}/{len(messages)} messages recorded, "
        report += f"{sent}/{expected_products} products sent"
        if report != last_report:
            _say(out, report)
            last_report = report
        if time.monotonic() > deadline:
            raise TimeoutError(f"the demo did not finish within {timeout_s} s ({report.strip()})")
        return seen >= len(messages) and sent >= expected_products

    daemon.run(until=finished)

    with app.sessions() as session:
        alerts = [
            alert_view(session, a)
            for a in session.execute(select(Alert).order_by(Alert.event_time)).scalars()
        ]
        letters = list(session.execute(select(DeadLetter)).scalars())
        sent = session.execute(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.state == OutboxState.SENT)
        ).scalar_one()
    notices = _read_back(bootstrap, settings.notice_topic, folder / "products", ".notice.json")
    voevents = _read_back(bootstrap, settings.voevent_topic, folder / "products", ".voevent.xml")
    _say(out, "[5/5] results")
    _say(
        out, f"{'NAME':<17} {'RUN_EVENT':<16} {'STREAM':<12} {'STATE':<13} {'RA':>8} {'DEC':>7} {'ERR90':>6}"
    )
    for a in alerts:
        r = a["revisions"][0]
        _say(
            out,
            f"{a['name'] or '-':<17} {a['run_id']}_{a['event_id']:<9} {a['stream']:<12} {a['state']:<13} "
            f"{r['ra_deg']:8.3f} {r['dec_deg']:+7.3f} {r['err90_deg']:6.2f}",
        )
    for letter in letters:
        _say(out, f"dead letter {letter.id} ({letter.source}): {letter.reason}")
    _say(out, f"notices read back from the broker: {len(notices)} -> {folder / 'products'}")
    _say(out, f"VOEvents read back from the broker: {len(voevents)} -> {folder / 'products'}")
    if notices:
        _say(out, f"first notice ({notices[0].name}):")
        _say(out, json.dumps(json.loads(notices[0].read_bytes()), indent=2))
    _say(
        out,
        f"done: {len(alerts)} events recorded, {sent} products sent, {len(letters)} dead letter(s). "
        f"Inspect with: skymist --database-url sqlite:///{folder / 'skymist-demo.sqlite'} alerts list",
    )
    daemon.dispatcher.close()
    del daemon
    app.close()
    broker.flush(1)
    return DemoResult(len(alerts), sent, len(letters), folder)


def _consumer(settings: Settings) -> Consumer:
    from skymist.kafka_clients import consumer_config

    return Consumer(consumer_config(settings))
