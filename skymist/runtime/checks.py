"""Health checks of a SkyMist installation, as ``skymist check`` runs them (Nagios/Icinga plugin).

Each check returns a :class:`CheckResult`: a status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), one
summary and perfdata (``name=value[unit];warn;crit``). The thresholds are settings (``check_*``,
``heartbeat_*``, ``scan_stuck_after_s``). A check that cannot run (the store is down, so the outbox
cannot be read) is UNKNOWN, and the one that explains it (``store``) is CRITICAL.
"""

from __future__ import annotations

import datetime as dt
import enum
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from skymist.app import App
from skymist.outbox.queue import HELD_UNTIL
from skymist.scans.backend import make_scanner_client
from skymist.scans.tracker import ACTIVE
from skymist.states import HeartbeatState, OutboxState
from skymist.store.db import code_revision, current_revision
from skymist.store.models import InboxMessage, OutboxRow
from skymist.store.ops_models import Heartbeat
from skymist.store.scan_models import Scan
from skymist.store.types import utcnow

if TYPE_CHECKING:
    from skymist.kafka_clients import KafkaConsumer
from skymist.trouble import DEAD_LETTERS_ACKED as DEAD_LETTERS_ACKED  # where it was always found
from skymist.trouble import TroubleKind, read_trouble


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored time as aware UTC (aggregates of SQLite may come back naive)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


class Status(enum.IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


@dataclass(frozen=True)
class Perf:
    """One perfdata value: ``label=value[unit];warn;crit``."""

    label: str
    value: float
    unit: str = ""
    warn: float | None = None
    crit: float | None = None

    def __str__(self) -> str:
        def num(x: float | None) -> str:
            return "" if x is None else f"{x:g}"

        return f"{self.label}={self.value:g}{self.unit};{num(self.warn)};{num(self.crit)}"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    summary: str
    perf: tuple[Perf, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.name,
            "code": int(self.status),
            "summary": self.summary,
            "perfdata": {p.label: p.value for p in self.perf},
            **({"details": self.details} if self.details else {}),
        }


def graded(value: float, warn: float, crit: float) -> Status:
    return Status.CRITICAL if value >= crit else Status.WARNING if value >= warn else Status.OK


class Probe:
    """What the checks look at: the app, a broker client made on first use, the clock."""

    def __init__(self, app: App, *, now: Callable[[], dt.datetime] = utcnow) -> None:
        self.app = app
        self.now = now
        self._consumer: KafkaConsumer | None = None

    def consumer(self) -> KafkaConsumer:
        if self._consumer is None:
            from confluent_kafka import Consumer

            from skymist.kafka_clients import base_config

            self._consumer = Consumer(
                {
                    **base_config(self.app.settings),
                    "group.id": self.app.settings.kafka_group_id,
                    "enable.auto.commit": "false",
                    "socket.timeout.ms": str(int(self.app.settings.readyz_timeout_s * 1000)),
                }
            )
        return self._consumer

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def session(self) -> Session:
        return self.app.sessions()


# --- the checks ----------------------------------------------------------------------------------


def check_store(probe: Probe) -> CheckResult:
    try:
        with probe.app.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        head, current = code_revision(probe.app.engine), current_revision(probe.app.engine)
    except Exception as exc:
        return CheckResult(
            "store",
            Status.CRITICAL,
            f"store unreachable: {_first_line(exc)}",
            (Perf("store_up", 0, "", None, 0),),
        )
    if head != current:
        return CheckResult(
            "store",
            Status.CRITICAL,
            f"schema at {current or 'none'}, code needs {head}: run skymist db upgrade",
        )
    return CheckResult("store", Status.OK, f"store reachable, schema at head {head}", (Perf("store_up", 1),))


def broker_lag(probe: Probe, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    """Messages behind the high watermark per (topic, partition), from the group's committed offsets
    (a partition never committed counts from the low watermark). Raises when the broker is away."""
    from confluent_kafka import TopicPartition

    timeout = probe.app.settings.readyz_timeout_s
    consumer = probe.consumer()
    metadata = consumer.list_topics(timeout=timeout)
    partitions = [
        TopicPartition(topic, p)
        for topic in topics
        if topic in metadata.topics and metadata.topics[topic].error is None
        for p in metadata.topics[topic].partitions
    ]
    if not partitions:
        return {}
    committed = consumer.committed(partitions, timeout=timeout)
    lag: dict[tuple[str, int], int] = {}
    for tp in committed:
        low, high = consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)
        position = tp.offset if tp.offset >= 0 else low
        lag[(tp.topic, tp.partition)] = max(0, high - position)
    return lag


def check_broker(probe: Probe) -> CheckResult:
    settings = probe.app.settings
    try:
        lag = broker_lag(probe, settings.kafka_topics)
    except Exception as exc:
        return CheckResult(
            "broker",
            Status.CRITICAL,
            f"broker {settings.kafka_bootstrap_servers} unreachable: {_first_line(exc)}",
        )
    worst = max(lag.values(), default=0)
    status = graded(worst, settings.check_lag_warning, settings.check_lag_critical)
    where = max(lag, key=lambda k: lag[k]) if lag else None
    summary = f"broker reachable, consumer lag {worst}" + (
        f" ({where[0]}[{where[1]}])" if where and worst else ""
    )
    perf = (Perf("lag", worst, "", settings.check_lag_warning, settings.check_lag_critical),)
    return CheckResult(
        "broker", status, summary, perf, {"lag": {f"{t}[{p}]": n for (t, p), n in lag.items()}}
    )


def check_input(probe: Probe) -> CheckResult:
    settings = probe.app.settings
    with probe.session() as session:
        last = session.execute(
            select(func.max(InboxMessage.received_at)).where(InboxMessage.topic != settings.heartbeat_topic)
        ).scalar_one()
    times = [as_utc(last)] if last is not None else []
    if settings.gcn_heartbeat_topic:
        gcn = _latest_message_time(probe, settings.gcn_heartbeat_topic)
        times += [gcn] if gcn is not None else []
    latest = max(times, default=None)
    if latest is None:
        return CheckResult("input", Status.WARNING, "no input message recorded yet")
    silence = (probe.now() - latest).total_seconds()
    status = graded(silence, settings.check_silence_warning_s, settings.check_silence_critical_s)
    perf = (
        Perf(
            "input_silence",
            round(silence),
            "s",
            settings.check_silence_warning_s,
            settings.check_silence_critical_s,
        ),
    )
    return CheckResult("input", status, f"last input {silence:.0f} s ago", perf)


def _latest_message_time(probe: Probe, topic: str) -> dt.datetime | None:
    from confluent_kafka import TopicPartition

    consumer = probe.consumer()
    timeout = probe.app.settings.readyz_timeout_s
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
        newest: dt.datetime | None = None
        for p in metadata.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, p, high - 1)])
            message = consumer.poll(timeout)
            if message is not None and message.error() is None:
                kind, stamp = message.timestamp()
                if kind and stamp > 0:
                    at = dt.datetime.fromtimestamp(stamp / 1000, dt.UTC)
                    newest = at if newest is None or at > newest else newest
        consumer.unassign()
        return newest
    except Exception:
        return None


def check_outbox(probe: Probe) -> CheckResult:
    settings = probe.app.settings
    now = probe.now()
    with probe.session() as session:
        oldest = session.execute(
            select(func.min(OutboxRow.created_at)).where(
                OutboxRow.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
                OutboxRow.next_attempt_at < HELD_UNTIL,
            )
        ).scalar_one()
        dead = read_trouble(session, settings, limit=0).open(TroubleKind.OUTBOX_DEAD)
    age = (now - as_utc(oldest)).total_seconds() if oldest is not None else 0.0
    status = max(
        graded(age, settings.check_outbox_age_warning_s, settings.check_outbox_age_critical_s),
        Status.CRITICAL if dead else Status.OK,
    )
    summary = f"oldest unsent row {age:.0f} s, {dead} dead row(s)" + (
        " (skymist outbox list --state dead)" if dead else ""
    )
    perf = (
        Perf(
            "outbox_age",
            round(age, 1),
            "s",
            settings.check_outbox_age_warning_s,
            settings.check_outbox_age_critical_s,
        ),
        Perf("outbox_dead", dead, "", None, 1),
    )
    return CheckResult("outbox", status, summary, perf)


def check_dead_letters(probe: Probe) -> CheckResult:
    with probe.session() as session:
        count = read_trouble(session, probe.app.settings, limit=0).open(TroubleKind.DEAD_LETTER)
    status = Status.WARNING if count else Status.OK
    hint = " (skymist dead-letter list; acknowledge with skymist dead-letter ack)" if count else ""
    return CheckResult(
        "dead_letters", status, f"{count} new dead letter(s){hint}", (Perf("dead_letters", count, "", 1),)
    )


#: what the ``trouble`` check counts (dead letters and dead outbox rows have checks of their own)
_TROUBLE_COUNTED = {
    TroubleKind.HANDOFF_FAILED: "failed hand-off(s)",
    TroubleKind.SCAN_FAILED: "failed scan(s)",
    TroubleKind.ARCHIVE: "archive warning(s)",
    TroubleKind.INPUT_STREAM: "input stream warning(s)",
}


def check_trouble(probe: Probe) -> CheckResult:
    """Failed hand-offs and scans, archive and input-stream warnings not yet acknowledged (WARNING)."""
    with probe.session() as session:
        record = read_trouble(session, probe.app.settings, limit=0)
    counts = {kind: record.open(kind) for kind in _TROUBLE_COUNTED}
    total = sum(counts.values())
    parts = [f"{n} {_TROUBLE_COUNTED[kind]}" for kind, n in counts.items() if n]
    summary = (", ".join(parts) + " to look at (console /trouble)") if parts else "nothing unacknowledged"
    perf = tuple(Perf(f"trouble_{kind.value}", n, "", 1) for kind, n in counts.items())
    return CheckResult("trouble", Status.WARNING if total else Status.OK, summary, perf)


def check_scans(probe: Probe) -> CheckResult:
    settings = probe.app.settings
    now = probe.now()
    with probe.session() as session:
        active = list(session.execute(select(Scan).where(Scan.state.in_(ACTIVE))).scalars())
    stuck, late = [], []
    for scan in active:
        if as_utc(scan.deadline_at) < now:
            late.append(scan.id)
        moved = scan.last_progress_at or scan.submitted_at
        idle_s = (now - as_utc(moved)).total_seconds() if moved is not None else 0.0
        if scan.backend_scan_id and idle_s > settings.scan_stuck_after_s:
            stuck.append(scan.id)
    status = Status.CRITICAL if late or stuck else Status.OK
    parts = [f"{len(active)} scan(s) in flight"]
    if stuck:
        parts.append(f"stuck: {', '.join(map(str, stuck))}")
    if late:
        parts.append(f"past deadline: {', '.join(map(str, late))}")
    perf = (
        Perf("scans_active", len(active)),
        Perf("scans_stuck", len(stuck), "", None, 1),
        Perf("scans_late", len(late), "", None, 1),
    )
    return CheckResult("scans", status, "; ".join(parts), perf)


def check_scanner(probe: Probe) -> CheckResult:
    settings = probe.app.settings
    if not settings.scans_enabled:
        return CheckResult("scanner", Status.OK, "scans disabled")
    client = make_scanner_client(settings.model_copy(update={"scanner_timeout_s": settings.readyz_timeout_s}))
    try:
        client.ping()
    except Exception as exc:
        return CheckResult(
            "scanner", Status.CRITICAL, f"scanner {settings.scanner_url} unreachable: {_first_line(exc)}"
        )
    finally:
        client.close()
    return CheckResult("scanner", Status.OK, f"scanner {settings.scanner_url} answers")


def _beats(session: Session) -> tuple[Heartbeat | None, Heartbeat | None]:
    """The newest received beat and the newest settled one (received, mismatch or missing)."""
    received = session.execute(
        select(Heartbeat)
        .where(Heartbeat.state == HeartbeatState.RECEIVED)
        .order_by(Heartbeat.sent_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    settled = session.execute(
        select(Heartbeat)
        .where(Heartbeat.state != HeartbeatState.SENT)
        .order_by(Heartbeat.sent_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return received, settled


def check_heartbeat(probe: Probe) -> CheckResult:
    settings = probe.app.settings
    if settings.heartbeat_interval_s <= 0:
        return CheckResult("heartbeat", Status.OK, "heartbeat off (heartbeat_interval_s = 0)")
    warn = 2 * settings.heartbeat_interval_s + settings.heartbeat_timeout_s
    crit = 3 * settings.heartbeat_interval_s + settings.heartbeat_timeout_s
    with probe.session() as session:
        received, _ = _beats(session)
    if received is None:
        return CheckResult(
            "heartbeat", Status.CRITICAL, "no heartbeat was ever read back (is the heartbeat job running?)"
        )
    age = (probe.now() - as_utc(received.sent_at)).total_seconds()
    perf = (Perf("heartbeat_age", round(age), "s", warn, crit),)
    return CheckResult(
        "heartbeat", graded(age, warn, crit), f"last heartbeat read back {age:.0f} s ago", perf
    )


def check_loopback(probe: Probe) -> CheckResult:
    with probe.session() as session:
        _, settled = _beats(session)
        bad = session.execute(
            select(func.count()).where(Heartbeat.state.in_((HeartbeatState.MISMATCH, HeartbeatState.MISSING)))
        ).scalar_one()
    perf = (Perf("loopback_failures", bad),)
    if settled is None:
        return CheckResult("loopback", Status.OK, "no heartbeat settled yet", perf)
    if settled.state != HeartbeatState.RECEIVED:
        return CheckResult(
            "loopback",
            Status.CRITICAL,
            f"heartbeat {settled.id} {settled.state.value}: {settled.detail}",
            perf,
        )
    return CheckResult("loopback", Status.OK, f"heartbeat {settled.id} read back byte for byte", perf)


def check_disk(probe: Probe) -> CheckResult:
    settings = probe.app.settings
    folder = settings.data_dir
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    free = usage.free / usage.total if usage.total else 0.0
    status = (
        Status.CRITICAL
        if free < settings.check_disk_critical_free
        else Status.WARNING
        if free < settings.check_disk_warning_free
        else Status.OK
    )
    perf = (
        Perf(
            "disk_free",
            round(free * 100, 1),
            "%",
            settings.check_disk_warning_free * 100,
            settings.check_disk_critical_free * 100,
        ),
    )
    return CheckResult("disk", status, f"{free:.0%} free on {folder} ({usage.free // 2**30} GiB)", perf)


#: every check, in the order they are reported; the store-free ones first need nothing
CHECKS: dict[str, Callable[[Probe], CheckResult]] = {
    "store": check_store,
    "broker": check_broker,
    "input": check_input,
    "outbox": check_outbox,
    "dead_letters": check_dead_letters,
    "scans": check_scans,
    "trouble": check_trouble,
    "scanner": check_scanner,
    "heartbeat": check_heartbeat,
    "loopback": check_loopback,
    "disk": check_disk,
}

#: checks that read the store (UNKNOWN when the store check failed)
NEEDS_STORE = frozenset({"input", "outbox", "dead_letters", "scans", "trouble", "heartbeat", "loopback"})


def run_checks(probe: Probe, names: Iterable[str] | None = None) -> list[CheckResult]:
    """Run the named checks (all by default); a check that raises is UNKNOWN with the reason."""
    chosen = list(names) if names is not None else list(CHECKS)
    results: list[CheckResult] = []
    store_ok = True
    for name in chosen:
        if name in NEEDS_STORE and not store_ok:
            results.append(CheckResult(name, Status.UNKNOWN, "store unreachable"))
            continue
        try:
            result = CHECKS[name](probe)
        except Exception as exc:
            result = CheckResult(name, Status.UNKNOWN, f"check failed: {_first_line(exc)}")
        if name == "store" and result.status != Status.OK:
            store_ok = False
        results.append(result)
    return results


def overall(results: list[CheckResult]) -> Status:
    """The worst status; UNKNOWN only when nothing is CRITICAL (Nagios' convention)."""
    codes = {r.status for r in results}
    if Status.CRITICAL in codes:
        return Status.CRITICAL
    if Status.UNKNOWN in codes:
        return Status.UNKNOWN
    return max(codes, default=Status.OK)


def nagios_line(results: list[CheckResult]) -> str:
    """``SKYMIST CRITICAL - broker: ...; outbox: ... | lag=0;100;1000 ...`` (one line)."""
    status = overall(results)
    failing = [r for r in results if r.status != Status.OK]
    shown = failing or results[:1]
    summary = "; ".join(f"{r.name}: {r.summary}" for r in shown)
    if not failing:
        summary = f"all {len(results)} checks OK"
    perf = " ".join(str(p) for r in results for p in r.perf)
    line = " ".join(f"SKYMIST {status.name} - {summary}".replace("|", "/").split())
    return f"{line} | {perf}" if perf else line


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


class Readiness:
    """``/readyz``: the store answers and the broker answers (cached for a second: scrapes are cheap)."""

    def __init__(self, app: App) -> None:
        self.probe = Probe(app)
        self._cached: tuple[float, tuple[bool, str]] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> tuple[bool, str]:
        with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < 1.0:
                return self._cached[1]
            store = check_store(self.probe)
            try:
                self.probe.consumer().list_topics(timeout=self.probe.app.settings.readyz_timeout_s)
                broker = "broker reachable"
                broker_ok = True
            except Exception as exc:
                self.probe.close()
                broker, broker_ok = f"broker unreachable: {_first_line(exc)}", False
            answer = (store.status == Status.OK and broker_ok, f"{store.summary}; {broker}")
            self._cached = (now, answer)
            return answer
