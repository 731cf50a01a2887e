"""The real daemon (``skymist run``) with the nine store-poison messages of issue 14 between valid
alerts on the same and other partitions: each is dead-lettered with a reason naming field and limit,
every valid alert is processed, and the log stays quiet (no retry loop, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from skymist.runtime.assembly import build_app
from skymist.store.models import Alert, DeadLetter
from tests.conftest import MockKafka, make_settings
from tests.helpers import envelope, real_event, with_ids
from tests.support.daemon import DaemonProcess
from tests.test_store_safety import POISON_NAMES, poison_messages
from tests.waiting import wait_for


@pytest.mark.slow
def test_store_poison_never_blocks_the_daemon(
    database_url: str, kafka: MockKafka, topic: str, shared_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url,
        kafka,
        kafka_topics=[topic],
        kafka_session_timeout_ms=6000,
        log_level="INFO",
        slack_mode="console",
    )
    app = build_app(settings)
    event = real_event(shared_dir)
    poisons = poison_messages(event)
    producer = kafka.producer()
    valid = 0
    for index, name in enumerate(POISON_NAMES):
        partition = index % 4
        for p in (partition, (partition + 1) % 4):  # a valid alert before, on this and another partition
            producer.produce(
                topic, json.dumps(envelope(with_ids(event, 142000, valid))).encode(), partition=p
            )
            valid += 1
        producer.produce(topic, json.dumps(poisons[name][0]).encode(), partition=partition)
        producer.produce(
            topic, json.dumps(envelope(with_ids(event, 142000, valid))).encode(), partition=partition
        )
        valid += 1
    producer.flush(30)
    daemon = DaemonProcess(settings, tmp_path / "daemon.log")

    def counts() -> tuple[int, int]:
        with app.sessions() as session:
            alerts = session.execute(select(func.count()).select_from(Alert).where(Alert.run_id == 142000))
            letters = session.execute(select(func.count()).select_from(DeadLetter))
            return int(alerts.scalar_one()), int(letters.scalar_one())

    try:
        daemon.start()
        wait_for(
            lambda: counts() == (valid, len(POISON_NAMES)),
            120,
            "every valid alert and one dead letter per poison",
            describe=lambda: (counts(), daemon.log_text()[-3000:]),
        )
        assert daemon.terminate() == 0
    finally:
        daemon.close()
    log = daemon.log_text()
    assert "Traceback" not in log and "could not record a batch" not in log, log[-3000:]
    with app.sessions() as session:
        letters: list[Any] = list(session.execute(select(DeadLetter)).scalars())
    app.close()
    by_raw = {letter.raw: letter for letter in letters}
    for name in POISON_NAMES:
        message, field, words = poisons[name]
        letter = by_raw[json.dumps(message).encode()]
        assert letter.field is not None and letter.field.startswith(field) and words in letter.reason
