"""The daemon's HTTP port: /healthz and /metrics from the first second, /readyz, and the notice
latency histogram populated after one alert (scraped with Prometheus' own text parser)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from skymist.metrics import Metrics
from skymist.runtime.simulate import alert_batch
from tests.conftest import MockKafka, make_settings
from tests.support.daemon import DaemonProcess
from tests.waiting import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def scrape(base: str) -> dict[str, Any]:
    """Every sample of /metrics by (name, sorted labels)."""
    status, body = get(f"{base}/metrics")
    assert status == 200
    samples: dict[str, Any] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[sample.name + json.dumps(sample.labels, sort_keys=True)] = sample.value
    return samples


def test_counters_keep_the_inc_and_snapshot_api() -> None:
    metrics = Metrics()
    metrics.inc("messages_processed", 3)
    metrics.inc("something_new")
    assert metrics.snapshot() == {"messages_processed": 3, "something_new": 1}
    families = {f.name: f for f in text_string_to_metric_families(metrics.prometheus_text())}
    assert families["skymist_messages_processed"].samples[0].value == 3
    assert families["skymist_something_new"].type == "counter"


@pytest.mark.slow
def test_metrics_scrape_after_one_alert(
    database_url: str, kafka: MockKafka, topic: str, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(database_url, kafka, kafka_topics=[topic], metrics_sample_s=0.3)
    daemon = DaemonProcess(settings, tmp_path / "daemon.log", "--metrics-port", str(port))
    try:
        daemon.start()

        def first_scrape() -> dict[str, Any] | None:
            try:
                status, body = get(f"{base}/healthz")
            except urllib.error.URLError:
                return None  # the port is not open yet
            assert status == 200 and json.loads(body)["status"] == "alive"
            return scrape(base)  # before anything happened: every counter there, at 0

        first = wait_for(first_scrape, 30, "/healthz and /metrics to answer", describe=daemon.log_text)
        assert first["skymist_messages_processed_total{}"] == 0
        assert first["skymist_up{}"] == 1
        status, body = get(f"{base}/readyz")
        assert status == 200 and json.loads(body)["status"] == "ready", body

        producer = kafka.producer()
        [(_alert, value)] = alert_batch(1, seed=11, size_bytes=20_000)
        producer.produce(topic, value)
        producer.flush(10)
        lag_key = f'skymist_consumer_lag_messages{{"partition": "0", "topic": "{topic}"}}'

        count_key = 'skymist_notice_latency_seconds_count{"product": "notice_json"}'
        sent_key = 'skymist_outbox_rows{"state": "sent"}'
        seen: dict[str, Any] = {}

        def settled() -> dict[str, Any] | None:
            """The alert's notices sent (counted at once), as the sampled gauges (every
            ``metrics_sample_s``) and the consumer's lag (offsets commit each 1 s) also say."""
            samples = scrape(base)
            seen.update({key: samples.get(key) for key in (count_key, sent_key, lag_key)})
            done = samples.get(count_key, 0) >= 1 and samples.get(sent_key, 0) >= 2
            return samples if done and samples.get(lag_key) == 0 else None

        samples = wait_for(
            settled,
            120,
            "the alert's notices in /metrics",
            every_s=0.2,
            describe=lambda: f"last seen {seen}; daemon log: {daemon.log_text()[-3000:]}",
        )
        assert samples["skymist_messages_processed_total{}"] == 1
        assert samples['skymist_outbox_rows{"state": "dead"}'] == 0
        assert samples['skymist_dead_letters{"state": "open"}'] == 0
        assert samples['skymist_notice_latency_seconds_sum{"product": "notice_json"}'] > 0
        assert any(k.startswith("skymist_scans{") for k in samples)
        assert daemon.terminate() == 0
    finally:
        daemon.close()
