"""The localized alert each console test gets is its own: its database (not the template), its data
folder (the skymap files' paths point into it), its stamps moved to the test's time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from skymist.outbox.queue import HELD_UNTIL
from skymist.store.models import Alert, OutboxRow
from skymist.store.product_models import Localization
from tests.conftest import MockKafka
from tests.console.localized_store import LocalizedTemplate, localized_copy

pytestmark = pytest.mark.slow  # the worker's localized template (the real scan) first


def test_each_copy_has_its_own_database_folder_and_time(
    localized_template: LocalizedTemplate, kafka: MockKafka, tmp_path: Path
) -> None:
    before = dt.datetime.now(dt.UTC)
    with localized_copy(localized_template, kafka, tmp_path / "data") as (app, alert_id):
        assert not app.settings.database_url.get_secret_value().endswith(f"/{localized_template.database}")
        with app.sessions() as session:
            loc = session.execute(select(Localization)).scalar_one()
            alert = session.get(Alert, alert_id)
            rows = list(session.execute(select(OutboxRow)).scalars())
        paths = [loc.png_path, loc.pdf_path, loc.flat_fits_path, loc.multiorder_fits_path]
        assert all(
            p is not None and Path(p).is_relative_to(tmp_path / "data") and Path(p).is_file() for p in paths
        )
        assert alert is not None and alert.event_time.year == 2022  # the event's own time stays
        assert alert.updated_at >= before - (localized_template.stamped_to - localized_template.stamped_from)
        held = [row for row in rows if row.next_attempt_at == HELD_UNTIL]
        assert len(held) == 2  # Rev 1's notice and VOEvent, held for approval: not moved
