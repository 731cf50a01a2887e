"""The input broker killed with -9 and a new, empty one started at the same address (a failed-over
cluster behind a stable name: new cluster id, offsets from 0) while alerts stream in.

The notices go to a cluster of their own (``notice_bootstrap_servers``, as GCN's brokers are in
production), so everything the daemon sent can be counted after the input brokers are gone.

A killed broker takes with it the messages it had acknowledged but the daemon had not read yet: the
broker lost them, not the daemon. The producer plays the upstream that sends again what was never
recorded. What the daemon must show: every alert the last broker holds recorded with nothing sent
again (no position kept from an old cluster skips a message), then, after the upstream's re-sends,
every alert recorded, each product sent exactly once, the cluster change told."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from sqlalchemy import select

from skymist.runtime.assembly import build_app
from skymist.runtime.simulate import alert_batch
from skymist.store.models import Alert
from tests.chaos.harness import PacedProducer, count_sent, daemon_settings, figures, outbox_states, wait_for
from tests.conftest import MockKafka
from tests.support.daemon import DaemonProcess
from tests.support.failover_broker import FailoverBroker
from tests.support.slack_api import SlackStandIn
from tests.tier import size

N_ALERTS = size(200, 600, "SKYMIST_CHAOS_FAILOVER_ALERTS")
FAILOVERS = 1


def held_by(bootstrap: str, topic: str) -> list[bytes]:
    """Every message the broker holds on ``topic`` (each partition read up to its end)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"held-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": "false",
            "log_level": 2,
        }
    )
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions
        }
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions if ends[p] > 0])
        found: list[bytes] = []
        left = {p for p in partitions if ends[p] > 0}
        deadline = time.monotonic() + 60
        while left and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            found.append(message.value() or b"")
            partition, offset = int(message.partition() or 0), int(message.offset() or 0)
            if offset + 1 >= ends[partition]:
                left.discard(partition)
        assert not left, f"could not read partitions {left} of {topic} to their end"
        return found
    finally:
        consumer.close()


def cluster_change_told(slack: SlackStandIn) -> list[dict[str, object]]:
    """Slack messages telling of a new input cluster: on their own, or in a digest's top reasons."""
    return [m for m in slack.messages if "a new input cluster" in json.dumps(m)]


def recorded(app: object) -> set[tuple[int, int]]:
    with app.sessions() as session:  # type: ignore[attr-defined]
        return {(int(r), int(e)) for r, e in session.execute(select(Alert.run_id, Alert.event_id))}


def test_broker_killed_and_replaced_while_alerts_stream(
    database_url: str, kafka: MockKafka, slack: SlackStandIn, tmp_path: Path
) -> None:
    topic = f"realtime-{uuid.uuid4().hex[:8]}"
    batch = alert_batch(N_ALERTS, seed=21, size_bytes=5_000, run_id=144000)
    ids = {value: (a.run_id, a.event_id) for a, value in batch}
    with FailoverBroker([topic], partitions=4) as broker:
        settings = daemon_settings(
            database_url,
            kafka,
            topic,
            slack,
            kafka_bootstrap_servers=broker.bootstrap,
            notice_bootstrap_servers=kafka.bootstrap,
            log_level="INFO",
            archive_enabled=False,  # the archive's own chaos case is test_archive_disk_full
            # input-stream warnings are operational: the cluster change may be told in a later
            # window's digest (issue 20), so windows are short here
            slack_digest_window_s=2,
        )
        app = build_app(settings)
        daemon = DaemonProcess(settings, tmp_path / "daemon.log")
        try:
            daemon.start()
            upstream = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 1, "log_level": 2})
            # the stream holds at its middle until the broker was replaced: the failover lands mid-stream
            producer = PacedProducer(
                upstream, topic, [v for _, v in batch], per_flush=10, pause_s=0.75, hold_at=N_ALERTS // 2
            )
            at_kill: list[dict[str, int]] = []
            mark = 0
            for _ in range(FAILOVERS):
                # the daemon is consuming from this broker: it recorded some of the alerts it holds
                wait_for(
                    lambda floor=mark + 30: len(recorded(app)) >= floor,  # type: ignore[misc]
                    60,
                    "alerts from the broker of the moment",
                )
                mark = len(recorded(app))
                at_kill.append({"produced": producer.produced, "recorded": mark})
                broker.kill9()
                time.sleep(2.0)  # the outage: the producer and the daemon retry
                broker.replace()
            producer.release()
            assert producer.done.wait(180), "the producer did not finish"
            # what the last broker holds must be recorded without any re-send
            held = {ids[value] for value in held_by(broker.bootstrap, topic)}
            wait_for(
                lambda: held <= recorded(app),
                120,
                "every alert the last broker holds",
                lambda: {"missing": len(held - recorded(app)), **outbox_states(app)},
            )
            # the upstream sends again what the killed brokers lost before the daemon read it
            lost_by_brokers = [v for v, key in ids.items() if key not in recorded(app)]
            for value in lost_by_brokers:
                upstream.produce(topic, value)
            assert upstream.flush(30) == 0
            wait_for(
                lambda: count_sent(app) >= 3 * N_ALERTS,
                240,
                "every alert's three products",
                lambda: outbox_states(app),
            )
            wait_for(lambda: bool(cluster_change_told(slack)), 60, "shifters told of the new input cluster")
            assert daemon.terminate() == 0  # stopped: what the topics hold now is all it sent
        finally:
            daemon.close()
        log_lines = [json.loads(line) for line in daemon.log_text().splitlines() if line.startswith("{")]
    product_keys = [m["metadata"]["event_payload"]["key"] for m in slack.messages if "metadata" in m]
    alert_keys = [k for k in product_keys if not k.startswith(("input:", "digest:"))]
    # input-stream warnings are operational: told one by one or in the window's digest (issue 20)
    told = cluster_change_told(slack)
    result = figures(
        f"input broker killed -9 and replaced x{FAILOVERS}, {N_ALERTS} alerts",
        app,
        kafka.bootstrap,
        [a for a, _ in batch],
        slack_keys=alert_keys,
        failovers=FAILOVERS,
        cluster_ids=broker.cluster_ids,
        at_kills=at_kill,
        held_by_last_broker=len(held),
        lost_by_killed_brokers_and_sent_again=len(lost_by_brokers),
        cluster_changes_told=len(told),
        cluster_changes_logged=sum(1 for line in log_lines if line.get("event") == "cluster-changed"),
    )
    app.close()
    result.check()
    assert result.dead_lettered == 0
    assert len(told) == FAILOVERS, product_keys
