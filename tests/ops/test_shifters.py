"""Shifters are told through the outbox, paced: the broker unreachable for longer than
``shifters_unreachable_after_s`` (seen by the daemon's metrics job), and when it is back."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from skymist.runtime.sampler import Sampler
from skymist.store.models import OutboxRow
from skymist.store.types import utcnow
from tests.ops.support import BrokerProcess


def told(app: Any) -> list[str]:
    with app.sessions() as session:
        rows = session.execute(
            select(OutboxRow).where(OutboxRow.product == "slack_ops").order_by(OutboxRow.id)
        )
        return [json.loads(row.payload)["text"] for row in rows.scalars()]


@pytest.mark.slow
def test_broker_outage_is_told_once_then_its_end(app_factory: Any, topic: str) -> None:
    with BrokerProcess() as broker:
        app = app_factory(
            kafka_bootstrap_servers=broker.bootstrap,
            kafka_topics=[topic],
            slack_mode="console",
            readyz_timeout_s=1.0,
            shifters_unreachable_after_s=2.0,
        )
        sampler = Sampler(app)
        sampler.sample()
        assert told(app) == []
        broker.pause()
        sampler.sample()  # down, but not for long yet: not told
        assert told(app) == []
        later = utcnow() + dt.timedelta(seconds=2.5)  # the outage's clock moves on; no waiting
        sampler.sample(now=later)
        sampler.sample(now=later)  # still down: told once (paced)
        assert told(app) == ["SkyMist: broker unreachable"]
        broker.resume()
        sampler.sample(now=later + dt.timedelta(seconds=1))
        assert told(app) == ["SkyMist: broker unreachable", "SkyMist: broker reachable again"]
        assert app.metrics.snapshot()["shifters_told"] == 2
        sampler.close()
