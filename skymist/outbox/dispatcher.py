"""The outbox dispatcher: claim due rows, send them, record the outcome.

1. Claim (one transaction, ``FOR UPDATE SKIP LOCKED``, so several daemons share the work): due
   ``pending`` rows, and ``sending`` rows whose lease ran out (their daemon died mid-send: in doubt).
   The ``before_send`` hooks re-read the state here and may veto rows (e.g. a retracted alert's),
   which are cancelled instead of sent. Each claimed
   row becomes ``sending`` with a lease and the sink's verification hint.
2. Send outside any transaction, batched per sink; in-doubt rows are first verified with the sink
   (delivered: mark sent; unknown to the sink: send).
3. Record (one transaction): ``sent`` (then the ``after_sent`` hooks run); or ``pending`` again
   with exponential backoff and jitter; or ``pending`` until the time the sink asked for (HTTP 429
   ``Retry-After``: not counted as an attempt, and the sink is paused meanwhile); or ``dead`` after
   the maximum attempts, which queues a message to the shifters.

Slack (:meth:`Dispatcher._claim_slack`) is paced at ``slack_max_per_minute``, all daemons together,
by class (:mod:`skymist.outbox.slack_classes`): the alert class is claimed first, the operational
class gets at most ``slack_operational_max_per_minute``, and operational floods are folded into one
digest per window and kind first (:mod:`skymist.outbox.slack_digest`). A webhook cannot be asked what
it received, so the webhook sink is given one row per claim: posted, then recorded, before the next
is taken, and a kill -9 leaves at most one webhook row in doubt.

A dispatcher serves the sinks it is given. The daemon's ``dispatch`` job runs one dispatcher per
sink, each in its own thread and claiming only its sink's rows, so a hanging Slack never holds up a
GCN notice (DESIGN.md: one row per sink, never one loop for all).

In-doubt rows that the sink cannot verify (a Slack webhook) are sent again: counted in
``outbox_in_doubt_resends_<sink>``.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from skymist.app import App
from skymist.outbox import keys
from skymist.outbox.hooks import OutboxHooks
from skymist.outbox.queue import SINK_SLACK, enqueue, slack_spec
from skymist.outbox.sinks.base import OutboxItem, SendResult, Sink
from skymist.outbox.sinks.slack import SlackWebhookSink
from skymist.outbox.slack_classes import OPERATIONAL_PRODUCTS
from skymist.outbox.slack_digest import DIGESTED_PRODUCTS, fold
from skymist.states import OutboxState, check_transition
from skymist.store.models import OutboxRow
from skymist.store.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    verified: int = 0
    retried: int = 0
    dead: int = 0
    cancelled: int = 0


#: claims due rows matching the conditions, at most ``limit`` (``FOR UPDATE SKIP LOCKED``)
Claim = Callable[..., list[OutboxRow]]


def one_at_a_time(sink: Sink) -> bool:
    """A sink that cannot be asked what it received (a Slack webhook) gets one row per claim: a
    kill between its post and the record leaves that one row in doubt, never a whole batch."""
    return isinstance(sink, SlackWebhookSink)


def backoff_seconds(attempts: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with +/-50% jitter: base * 2^(attempts-1), capped at max."""
    delay: float = min(max_s, base_s * 2.0 ** max(attempts - 1, 0))
    jittered: float = delay * rng.uniform(0.5, 1.5)
    return jittered


class Dispatcher:
    def __init__(
        self,
        app: App,
        sinks: Mapping[str, Sink],
        owner: str | None = None,
        hooks: OutboxHooks | None = None,
    ) -> None:
        """``hooks`` default to the application's (registered by the domain when it was built)."""
        self.app = app
        self.sinks = dict(sinks)
        self.hooks = app.outbox_hooks if hooks is None else hooks
        self.owner = owner or f"dispatcher-{uuid.uuid4().hex[:10]}"
        self.rng = random.Random()
        #: sinks that asked to wait (429 Retry-After): monotonic time until which they are not claimed
        self._paused_until: dict[str, float] = {}

    def _active(self, name: str) -> bool:
        return self._paused_until.get(name, 0.0) <= time.monotonic()

    def _pause(self, name: str, seconds: float) -> None:
        until = time.monotonic() + seconds
        self._paused_until[name] = max(self._paused_until.get(name, 0.0), until)

    # -- claim --------------------------------------------------------------------------------------
    def _claim(self, session: Session, now: dt.datetime) -> tuple[list[OutboxItem], int]:
        settings = self.app.settings
        due = or_(
            and_(OutboxRow.state == OutboxState.PENDING, OutboxRow.next_attempt_at <= now),
            and_(OutboxRow.state == OutboxState.SENDING, OutboxRow.lease_until < now),
        )

        def claim(*where: ColumnElement[bool], limit: int) -> list[OutboxRow]:
            if limit <= 0:
                return []
            stmt = (
                select(OutboxRow)
                .where(due, *where)
                .order_by(OutboxRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            return list(session.execute(stmt).scalars())

        other_sinks = [name for name in self.sinks if name != SINK_SLACK and self._active(name)]
        rows = claim(OutboxRow.sink.in_(other_sinks), limit=settings.outbox_batch) if other_sinks else []
        if SINK_SLACK in self.sinks and self._active(SINK_SLACK):
            rows += self._claim_slack(session, now, claim)
        vetoed = self.hooks.vetoes(session, rows)
        items: list[OutboxItem] = []
        cancelled = 0
        lease_until = now + dt.timedelta(seconds=settings.outbox_lease_s)
        hints: dict[tuple[str, str], object] = {}
        for row in rows:
            if row.id in vetoed:
                row.state = check_transition(row.state, OutboxState.CANCELLED)
                row.last_error = f"cancelled: {vetoed[row.id]}"
                cancelled += 1
                continue
            in_doubt = row.state == OutboxState.SENDING
            if not in_doubt:
                row.state = check_transition(row.state, OutboxState.SENDING)
                key = (row.sink, row.destination)
                if key not in hints:
                    hints[key] = self.sinks[row.sink].hint(row.destination)
                row.verify_hint = hints[key]  # type: ignore[assignment]
            row.attempts += 1
            row.lease_until = lease_until
            row.lease_owner = self.owner
            items.append(
                OutboxItem(
                    id=row.id,
                    sink=row.sink,
                    destination=row.destination,
                    product=row.product,
                    idempotency_key=row.idempotency_key,
                    payload=row.payload,
                    content_type=row.content_type,
                    message_key=row.message_key,
                    verify_hint=row.verify_hint,
                    in_doubt=in_doubt,
                )
            )
        return items, cancelled

    def _claim_slack(self, session: Session, now: dt.datetime, claim: Claim) -> list[OutboxRow]:
        """Fold the operational floods into digests, then claim the alert class first and the
        operational class with what is left of its own share of the minute."""
        settings = self.app.settings
        folded = fold(session, settings, self.app.renderer, now)
        if folded.digests:
            self.app.metrics.inc("slack_digests", folded.digests)
            self.app.metrics.inc("slack_digested_rows", folded.rows)
            log.info(
                "operational Slack messages folded",
                extra={"digests": folded.digests, "folded": folded.rows, "held": folded.held},
            )
        used, used_operational = self._slack_used(session, now)
        limit = 1 if one_at_a_time(self.sinks[SINK_SLACK]) else settings.outbox_batch
        budget = min(limit, settings.slack_max_per_minute - used)
        operational = OutboxRow.product.in_(OPERATIONAL_PRODUCTS)
        rows: list[OutboxRow] = claim(OutboxRow.sink == SINK_SLACK, ~operational, limit=budget)
        share = min(settings.slack_operational_max_per_minute, settings.slack_max_per_minute)
        # a pending row of a digested kind goes out in its digest (queued after ``fold`` looked:
        # the next one folds it); one in doubt is verified or sent again as it is
        to_digest = and_(OutboxRow.product.in_(DIGESTED_PRODUCTS), OutboxRow.state == OutboxState.PENDING)
        rows += claim(
            OutboxRow.sink == SINK_SLACK,
            operational,
            ~to_digest,
            limit=min(budget - len(rows), share - used_operational),
        )
        return rows

    def _slack_used(self, session: Session, now: dt.datetime) -> tuple[int, int]:
        """Slack messages sent (or being sent) in the last minute: all, and the operational ones."""
        total, operational = session.execute(
            select(func.count(), func.count().filter(OutboxRow.product.in_(OPERATIONAL_PRODUCTS)))
            .select_from(OutboxRow)
            .where(
                OutboxRow.sink == SINK_SLACK,
                or_(
                    OutboxRow.sent_at >= now - dt.timedelta(seconds=60),
                    and_(OutboxRow.state == OutboxState.SENDING, OutboxRow.lease_until >= now),
                ),
            )
        ).one()
        return int(total), int(operational)

    # -- send ---------------------------------------------------------------------------------------
    def _send(self, items: Sequence[OutboxItem]) -> tuple[dict[int, SendResult], int]:
        results: dict[int, SendResult] = {}
        verified = 0
        by_sink: dict[str, list[OutboxItem]] = defaultdict(list)
        for item in items:
            if item.in_doubt:
                delivered = self.sinks[item.sink].verify(item)
                if delivered:
                    results[item.id] = SendResult(True, delivery_ref="verified after an interrupted send")
                    verified += 1
                    continue
                if delivered is None:  # the sink cannot tell (a webhook): at least once
                    self.app.metrics.inc(f"outbox_in_doubt_resends_{item.sink}")
                log.info("resending in-doubt row", extra={"outbox_id": item.id, "verified": delivered})
            by_sink[item.sink].append(item)
        for sink_name, batch in by_sink.items():
            try:
                sent = self.sinks[sink_name].send(batch)
            except Exception as exc:  # a sink bug must not lose rows: they are retried
                log.exception("sink failed", extra={"sink": sink_name})
                sent = [SendResult(False, error=f"{sink_name} sink error: {type(exc).__name__}")] * len(batch)
            for item, result in zip(batch, sent, strict=True):
                results[item.id] = result
        return results, verified

    # -- record -------------------------------------------------------------------------------------
    def _record(self, session: Session, results: Mapping[int, SendResult], now: dt.datetime) -> DispatchStats:
        settings = self.app.settings
        sent = retried = dead = held = 0
        sent_rows: list[OutboxRow] = []
        rows = session.execute(
            select(OutboxRow).where(OutboxRow.id.in_(list(results))).with_for_update()
        ).scalars()
        for row in rows:
            result = results[row.id]
            if row.state != OutboxState.SENDING or row.lease_owner != self.owner:
                continue  # our lease ran out and another dispatcher took it over
            if result.ok:
                row.state = check_transition(row.state, OutboxState.SENT)
                row.sent_at, row.delivery_ref, row.last_error = now, result.delivery_ref, None
                row.lease_until = None
                sent += 1
                sent_rows.append(row)
                continue
            row.last_error = result.error
            if result.pause_sink_s is not None:  # the sink stopped answering: let it be a while
                self._pause(row.sink, result.pause_sink_s)
            if result.retry_after_s is not None:  # the sink said when: not an attempt
                row.state = check_transition(row.state, OutboxState.PENDING)
                row.attempts = max(0, row.attempts - 1)
                row.next_attempt_at = now + dt.timedelta(seconds=result.retry_after_s)
                row.lease_until = None
                held += 1
                self._pause(row.sink, result.retry_after_s)
                continue
            exhausted = row.attempts >= settings.outbox_max_attempts
            if result.undecided and not exhausted:
                continue  # stays ``sending``: verified when the lease runs out
            if result.permanent or exhausted:
                row.state = check_transition(row.state, OutboxState.DEAD)
                row.lease_until = None
                dead += 1
                self._tell_shifters_dead(session, row)
            else:
                row.state = check_transition(row.state, OutboxState.PENDING)
                delay = backoff_seconds(
                    row.attempts, settings.outbox_backoff_base_s, settings.outbox_backoff_max_s, self.rng
                )
                row.next_attempt_at = now + dt.timedelta(seconds=delay)
                row.lease_until = None
                retried += 1
        if sent_rows:
            session.flush()
            self.hooks.sent(session, sent_rows, now)
        self.app.metrics.inc("outbox_sent", sent)
        self.app.metrics.inc("outbox_retried", retried)
        self.app.metrics.inc("outbox_dead", dead)
        self.app.metrics.inc("outbox_held_back", held)
        return DispatchStats(sent=sent, retried=retried + held, dead=dead)

    def _tell_shifters_dead(self, session: Session, row: OutboxRow) -> None:
        log.error(
            "outbox row given up",
            extra={"outbox_id": row.id, "product": row.product, "error": row.last_error},
        )
        if row.sink == SINK_SLACK or self.app.settings.slack_mode == "off":
            return
        subject = row.idempotency_key.split(":", 1)[0]
        spec = slack_spec(
            self.app.settings,
            self.app.renderer,
            product="slack_outbox_dead",
            idempotency_key=keys.outbox_dead(row.id, row.attempts),
            template="slack/outbox_dead.json.j2",
            variables={
                "product": row.product,
                "subject": subject,
                "sink": row.sink,
                "attempts": row.attempts,
                "last_error": row.last_error or "",
                "row_id": row.id,
            },
            alert_id=row.alert_id,
        )
        enqueue(session, spec)

    # -- loop ---------------------------------------------------------------------------------------
    def run_once(self) -> DispatchStats:
        """Claim, send and record one batch."""
        now = utcnow()
        with self.app.sessions() as session, session.begin():
            items, cancelled = self._claim(session, now)
        if not items:
            return DispatchStats(cancelled=cancelled)
        results, verified = self._send(items)
        with self.app.sessions() as session, session.begin():
            stats = self._record(session, results, utcnow())
        return DispatchStats(len(items), stats.sent, verified, stats.retried, stats.dead, cancelled)

    def run_forever(self, stop: threading.Event, wake: threading.Event) -> None:
        interval = self.app.settings.outbox_poll_interval_s
        while not stop.is_set():
            try:
                stats = self.run_once()
            except Exception:  # the store may be away for a while: keep trying
                log.exception("dispatcher cycle failed; retrying")
                stop.wait(min(self.app.settings.store_retry_max_s, interval * 4))
                continue
            if stats.claimed == 0:
                wake.wait(interval)
                wake.clear()

    def drain(self, timeout_s: float = 60.0) -> DispatchStats:
        """Send until nothing is due (or ``timeout_s`` passes); returns the totals."""
        import time

        totals = DispatchStats()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            stats = self.run_once()
            totals = DispatchStats(
                *(
                    a + b
                    for a, b in zip(
                        (
                            totals.claimed,
                            totals.sent,
                            totals.verified,
                            totals.retried,
                            totals.dead,
                            totals.cancelled,
                        ),
                        (
                            stats.claimed,
                            stats.sent,
                            stats.verified,
                            stats.retried,
                            stats.dead,
                            stats.cancelled,
                        ),
                        strict=True,
                    )
                )
            )
            if stats.claimed == 0 and stats.cancelled == 0:
                break
        return totals

    def close(self) -> None:
        for sink in self.sinks.values():
            sink.close()
