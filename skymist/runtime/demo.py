"""``skymist demo``: the whole prompt path on an embedded default, with nothing configured.

It starts a Kafka-protocol broker inside this process (librdkafka's mock cluster), a SQLite store
in a work folder, produces a handful of realistic alerts (plus one bare event and one malformed
message), runs the very daemon code over them, and prints what came out: the alerts, the notices
and VOEvents read back from the broker (also written to files), and the Slack messages (printed).

The work folder is the demo's own (:mod:`skymist.runtime.demo_folder`: a folder it did not make is
never deleted unless forced); its files are explained at the end and in its ``README.txt``. The
output goes through one :class:`~skymist.runtime.line_output.LineWriter`: the daemon's threads
(Slack on the console) and the progress lines never share a line.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import secrets
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from confluent_kafka import Consumer, Producer
from sqlalchemy import func, select

from skybase.json_types import JSONObject
from skybase.logs import configure_logging
from skymist.alerts.views import alert_view
from skymist.app import App
from skymist.config import Settings
from skymist.files import path_inside
from skymist.outbox.queue import HELD_UNTIL
from skymist.reco_plans import ScanPlanEntry, ScanPlans, skyscan_plans
from skymist.runtime.assembly import build_app
from skymist.runtime.daemon import Daemon
from skymist.runtime.demo_folder import legend_lines, prepare_demo_folder
from skymist.runtime.jobs import default_jobs, make_jobs, standard_inputs
from skymist.runtime.line_output import line_writer
from skymist.runtime.scanner_process import ScannerProcess
from skymist.runtime.simulate import alert_batch, draw_alert, event_message
from skymist.scans.tracker import ACTIVE
from skymist.states import AlertState, CircularState, OutboxState
from skymist.store.db import upgrade
from skymist.store.models import Alert, AlertRevision, DeadLetter, InboxMessage, OutboxRow
from skymist.store.product_models import Circular, Localization
from skymist.store.scan_models import Scan

REALTIME_TOPIC = "icecube.realtime.events"

#: the demo's nside progression: about 1,200 pixels per alert and a skymap of nside 256, instead of the
#: default 8:0,64:12,512:24 (3,136 pixels, nside 512); its 90% region (about 9 sq. deg) still lies
#: inside the finest pixels, and the demo's scans, skymaps and archive take far less CPU
DEMO_NSIDES = "4:0,32:3,256:12"


@dataclass(frozen=True)
class DemoResult:
    alerts: int
    products_sent: int
    dead_letters: int
    folder: Path


def _say(out: TextIO, text: str) -> None:
    print(text, file=out, flush=True)


def skymist_command() -> list[str]:
    """The ``skymist`` command as it can be run from anywhere: the absolute path of the script that
    runs now, or the one beside this interpreter (a venv's ``bin/``, not necessarily on PATH), else
    ``python -m skymist.cli.main``."""
    invoked = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if invoked is not None and invoked.name == "skymist" and invoked.is_file():
        return [str(invoked.absolute())]
    script = Path(sys.executable).with_name("skymist")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "skymist.cli.main"]


def _revision(value: bytes, suffix: str) -> int | None:
    """The revision a read-back notice (``record_number``) or VOEvent (``Rev`` Param) is of."""
    try:
        if suffix.endswith(".json"):
            number = json.loads(value).get("record_number")
            return number if isinstance(number, int) else None
        found = re.search(rb'<Param\s+name="Rev"\s+value="(\d+)"', value)
        return int(found.group(1)) if found else None
    except (ValueError, AttributeError):
        return None


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
        key = re.sub(r"[^A-Za-z0-9_-]", "_", (message.key() or b"message").decode(errors="replace"))
        value = message.value() or b""
        revision = _revision(value, suffix)
        place = f"{message.partition()}-{message.offset()}"
        name = f"{key}.rev{revision}{suffix}" if revision is not None else f"{key}.{place}{suffix}"
        path = path_inside(folder, name)
        if path.exists():  # a second copy of one revision on the broker: kept, named by its place
            path = path_inside(folder, f"{key}.rev{revision}.{place}{suffix}")
        path.write_bytes(value)
        paths.append(path)
    consumer.close()
    return sorted(paths)


def _scan_line(app: App) -> str:
    with app.sessions() as session:
        rows = session.execute(
            select(Alert.name, Scan.state, Scan.progress_percent, Scan.pixels_done)
            .join(Alert, Alert.id == Scan.alert_id)
            .order_by(Scan.id)
        ).all()
    parts = [
        f"{name}: {state.value}" + (f" {percent:.0f}% ({pixels} px)" if percent is not None else "")
        for name, state, percent, pixels in rows
    ]
    return "      scans: " + (" | ".join(parts) if parts else "none planned yet")


def run_demo(
    folder: Path,
    n_alerts: int = 5,
    out: TextIO = sys.stdout,
    timeout_s: float = 300.0,
    *,
    force: bool = False,
) -> DemoResult:
    """Run the demo in ``folder`` (see :func:`prepare_demo_folder` for which folders it may delete:
    ``force`` allows any but a few); raises DemoFolderError before anything runs if it may not."""
    folder = prepare_demo_folder(folder, force=force)
    out = line_writer(out)
    configure_logging("skymist", "ERROR")
    _say(out, f"SkyMist demo: work folder {folder}")

    broker = Producer({"test.mock.num.brokers": 1, "log_level": 2})
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in broker.list_topics(timeout=10).brokers.values())
    _say(out, f"[1/6] Kafka-protocol broker (librdkafka mock cluster) listening on {bootstrap}")

    token = secrets.token_hex(16)
    scanner_settings = {
        "database_url": f"sqlite:///{folder / 'skyscan.sqlite'}",
        "user_tokens": f'["{token}"]',
        "max_concurrent_scans": "2",
        "workers": "2",
        "progress_interval_s": "1.0",
        "result_interval_s": "2.0",
        "backlog_poll_s": "0.2",
        "log_level": "ERROR",
    }
    with ScannerProcess(scanner_settings) as scanner:
        _say(
            out,
            f"[2/6] skyscan (SkyDriver-compatible scan service, in-process pixel workers) on {scanner.url}",
        )
        result = _run(folder, n_alerts, out, timeout_s, bootstrap, scanner.url, token)
    broker.flush(1)
    return result


def _demo_settings(folder: Path, bootstrap: str, scanner_url: str, token: str) -> Settings:
    """The demo's settings: a SQLite store in ``folder``, Slack on the console, scans on."""
    return Settings(
        database_url=f"sqlite:///{folder / 'skymist-demo.sqlite'}",
        kafka_bootstrap_servers=bootstrap,
        kafka_topics=[REALTIME_TOPIC],
        kafka_group_id="skymist-demo",
        slack_mode="console",
        alert_tense="test",
        data_dir=folder,
        log_level="ERROR",
        kafka_config={"log_level": "2"},
        scans_enabled=True,
        scanner_url=scanner_url,
        scanner_token=token,
        scan_tick_s=0.5,
        scan_poll_realtime_s=1.0,
        scan_plans=demo_plans(),
        public_base_url=(folder / "skymaps").as_uri(),
        # online_gaussian's llh is shaped so that Wilks' levels draw its calibrated 50% / 90% regions
        skymap_thresholds="wilks",
    )


def demo_plans() -> ScanPlans:
    """skyscan's default plans (online_gaussian for every class) at the demo's :data:`DEMO_NSIDES`."""
    return {
        alert_class: [
            ScanPlanEntry.model_validate({**entry.model_dump(), "nsides": DEMO_NSIDES}) for entry in entries
        ]
        for alert_class, entries in skyscan_plans().items()
    }


def _produce_messages(out: TextIO, bootstrap: str, n_alerts: int) -> list[bytes]:
    """Produce the demo's input: ``n_alerts`` classified alerts, one bare event, one malformed."""
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
        f"[4/6] produced {len(messages)} messages to {REALTIME_TOPIC!r}: {n_alerts} classified alerts, "
        f"1 bare event, 1 malformed ({sizes[0]}-{sizes[-1]} bytes)",
    )
    return messages


def _run(
    folder: Path, n_alerts: int, out: TextIO, timeout_s: float, bootstrap: str, scanner_url: str, token: str
) -> DemoResult:
    settings = _demo_settings(folder, bootstrap, scanner_url, token)
    app = build_app(settings)
    upgrade(app.engine)
    _say(out, f"[3/6] store ready: {folder / 'skymist-demo.sqlite'} (schema migrated with Alembic)")

    messages = _produce_messages(out, bootstrap, n_alerts)

    _say(out, "[5/6] running the daemon (consumer, outbox dispatcher, scan tracker); Slack messages follow:")
    inputs = standard_inputs(app, console=out, make_consumer=lambda: _consumer(settings))
    daemon = Daemon(app, make_jobs(default_jobs(app), inputs))
    deadline = time.monotonic() + timeout_s
    last_report = ""
    last_scans = ""

    def finished() -> bool:
        nonlocal last_report, last_scans
        with app.sessions() as session:
            seen = session.execute(select(func.count()).select_from(InboxMessage)).scalar_one()
            unsent = session.execute(
                select(func.count())
                .select_from(OutboxRow)
                .where(
                    OutboxRow.state.in_([OutboxState.PENDING, OutboxState.SENDING]),
                    OutboxRow.next_attempt_at < HELD_UNTIL,  # held for approval: not the demo's to send
                )
            ).scalar_one()
            sent = session.execute(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.state == OutboxState.SENT)
            ).scalar_one()
            active = session.execute(
                select(func.count()).select_from(Scan).where(Scan.state.in_(ACTIVE))
            ).scalar_one()
            planned = session.execute(select(func.count()).select_from(Scan)).scalar_one()
            waiting = session.execute(
                select(func.count()).select_from(Alert).where(Alert.state == AlertState.LOCALIZED_PENDING)
            ).scalar_one()
        report = f"      progress: {seen}/{len(messages)} messages recorded, {sent} products sent"
        if report != last_report:
            _say(out, report)
            last_report = report
        scan_line = _scan_line(app)
        if scan_line != last_scans:
            _say(out, scan_line)
            last_scans = scan_line
        if time.monotonic() > deadline:
            raise TimeoutError(f"the demo did not finish within {timeout_s} s ({report.strip()})")
        return seen >= len(messages) and planned >= n_alerts and active == 0 and unsent == 0 and waiting == 0

    daemon.run(until=finished)
    return _report(app, folder, settings, bootstrap, out)


def _report(app: App, folder: Path, settings: Settings, bootstrap: str, out: TextIO) -> DemoResult:
    with app.sessions() as session:
        alerts = [
            alert_view(session, a, detail=True)
            for a in session.execute(select(Alert).order_by(Alert.id)).scalars()
        ]
        letters = list(session.execute(select(DeadLetter)).scalars())
        sent = session.execute(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.state == OutboxState.SENT)
        ).scalar_one()
    notices = _read_back(bootstrap, settings.notice_topic, folder / "products", ".notice.json")
    voevents = _read_back(bootstrap, settings.voevent_topic, folder / "products", ".voevent.xml")
    _say(out, "[6/6] results")
    _say_alerts(out, alerts)
    for letter in letters:
        _say(out, f"dead letter {letter.id} ({letter.source}): {letter.reason}")
    _say(out, f"notices read back from the broker: {len(notices)} -> {folder / 'products'}")
    _say(out, f"VOEvents read back from the broker: {len(voevents)} -> {folder / 'products'}")
    _show_notice(out, notices)
    _show_refined(app, out)
    _say_guide(out, folder)
    _say(
        out,
        f"done: {len(alerts)} events recorded, {sent} products sent, {len(letters)} dead letter(s).",
    )
    app.close()
    return DemoResult(len(alerts), sent, len(letters), folder)


def _say_alerts(out: TextIO, alerts: list[JSONObject]) -> None:
    """One line per alert: its name, stream, state, first position and scans."""
    header = ("NAME", "RUN_EVENT", "STREAM", "STATE", "RA", "DEC", "ERR90")
    _say(out, "{:<17} {:<16} {:<12} {:<17} {:>8} {:>7} {:>6}  SCANS".format(*header))
    for a in alerts:
        r = a["revisions"][0]
        scans = (
            ", ".join(f"{s['plan_entry']} {s['state']} ({s['pixels_done'] or 0} px)" for s in a["scans"])
            or "-"
        )
        _say(
            out,
            f"{a['name'] or '-':<17} {a['run_id']}_{a['event_id']:<9} {a['stream']:<12} {a['state']:<17} "
            f"{r['ra_deg']:8.3f} {r['dec_deg']:+7.3f} {r['err90_deg']:6.2f}  {scans}",
        )


def _show_notice(out: TextIO, notices: list[Path]) -> None:
    """The first refined (Rev 1) notice read back, else the first prompt one."""
    refined = [p for p in notices if json.loads(p.read_bytes()).get("record_number") == 1]
    shown = refined[0] if refined else (notices[0] if notices else None)
    if shown is not None:
        _say(out, f"{'refined (Rev 1)' if refined else 'prompt'} notice ({shown.name}):")
        _say(out, json.dumps(json.loads(shown.read_bytes()), indent=2))


def _say_guide(out: TextIO, folder: Path) -> None:
    """What the demo folder holds and the commands that inspect its store."""
    _say(out, f"files in {folder} (also in its README.txt):")
    for line in legend_lines():
        _say(out, line)
    base = [*skymist_command(), "--database-url", f"sqlite:///{folder / 'skymist-demo.sqlite'}"]
    _say(out, "Inspect with:")
    for command in (["alerts", "list"], ["circular", "list"], ["scans", "list"]):
        _say(out, "  " + shlex.join([*base, *command]))


def _show_refined(app: App, out: TextIO) -> None:
    """Where the skymaps are, and the Circular drafts waiting for a human."""
    with app.sessions() as session:
        maps = session.execute(
            select(Alert.name, Localization).join(Alert, Alert.id == Localization.alert_id).order_by(Alert.id)
        ).all()
        drafts = session.execute(
            select(Alert.name, Circular)
            .join(Alert, Alert.id == Circular.alert_id)
            .where(Circular.state == CircularState.AWAITING_APPROVAL)
            .order_by(Alert.id)
        ).all()
        made_by: dict[tuple[int, int | None], dict[str, Any]] = {
            (rev.alert_id, rev.revision): rev.details
            for rev in session.execute(select(AlertRevision).where(AlertRevision.revision > 0)).scalars()
        }
        held = session.execute(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.next_attempt_at >= HELD_UNTIL)
        ).scalar_one()
    for name, loc in maps:
        details = made_by.get((loc.alert_id, loc.revision), {})
        algo, kind = details.get("reco_algo", "unknown"), details.get("reco_kind", "approximation")
        _say(
            out,
            f"skymap {name}: best fit RA {loc.ra_deg:.2f} Dec {loc.dec_deg:+.2f}, "
            f"90% area {loc.area_90_deg2:.2f} sq. deg ({loc.thresholds} thresholds), made by {algo} ({kind})",
        )
        if kind != "reconstruction" and loc.revision is not None:
            _say(
                out,
                f"    WARNING: {algo} is an approximation, not a reconstruction: Rev {loc.revision} "
                "(notice, VOEvent, Circular) is held for approval and is not a refined direction",
            )
        for label, path in (
            ("picture", loc.png_path),
            ("picture (PDF)", loc.pdf_path),
            ("FITS", loc.flat_fits_path),
            ("FITS", loc.multiorder_fits_path),
        ):
            if path is not None:
                _say(out, f"    {label} {path}")
    _say(out, f"{held} refined notice(s) / VOEvent(s) held until a human approves the Circular")
    if drafts:
        name, circular = drafts[0]
        _say(
            out, f"{len(drafts)} Circular draft(s) await approval (skymist circular approve NAME); {name}'s:"
        )
        _say(out, f"SUBJECT: {circular.subject}\n\n{circular.body}")


def _consumer(settings: Settings) -> Consumer:
    from skymist.kafka_clients import consumer_config

    return Consumer(consumer_config(settings))
