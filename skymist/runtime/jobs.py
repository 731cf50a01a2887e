"""The daemon's named jobs and their registry.

A daemon runs any subset of the jobs (``skymist run --jobs ingest,dispatch``), so several processes
can share the work: the consumer group spreads the partitions over the ``ingest`` jobs, and every
other job claims its rows with ``SELECT ... FOR UPDATE SKIP LOCKED``, so two daemons never do the
same thing twice.

=========  ===================================================================================
ingest     consume the realtime topics, record every message, run the handlers (Rev 0 path)
dispatch   send the outbox: notices to Kafka, Slack, Circulars, files; retries; dead rows
scans      track the scans on the scanner backend: submit, poll, progress, results, rescans
handoff    hand final scans to the skymap step (Rev 1 products, the Circular draft), archive them
metrics    bring the gauges and latency histograms up to date; tell shifters of store/broker outages
heartbeat  a synthetic test alert through the prompt path every ``heartbeat_interval_s``, its
           notices read back from the output topics and compared byte for byte (loopback)
archive    complete archive records behind the store; regenerate the HTML catalogue
console    the shifters' web console (when ``console_enabled``), on the daemon's one HTTP port
           (:mod:`skymist.runtime.http_app`)
=========  ===================================================================================
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TextIO

from apscheduler.schedulers.background import BackgroundScheduler

from scanner_client.backend import ScannerBackend
from skymist import kafka_clients
from skymist.app import App
from skymist.config import Settings
from skymist.ingest.consumer import StreamConsumer
from skymist.ingest.inbox import Ingestor, IngestResult
from skymist.kafka_clients import KafkaConsumer
from skymist.outbox.dispatcher import Dispatcher
from skymist.outbox.sinks.base import Sink
from skymist.outbox.sinks.factory import build_sinks
from skymist.runtime import lifecycle
from skymist.runtime.job_names import JobName as JobName  # where the daemon's callers find it
from skymist.scans.backend import make_scanner_client
from skymist.scans.handoff import Handoff
from skymist.scans.tracker import ScanTracker

if TYPE_CHECKING:
    from skymist.runtime.http_server import HttpServer

log = logging.getLogger(__name__)

HANDOFF_INTERVAL_S = 2.0
#: how long a stopping daemon goes on writing the archive records of its last sends (the rest, and a
#: backlog, are the ``archive`` job's sweep's at the next start)
RECORDS_FLUSH_S = 10.0


class UnknownJobError(ValueError):
    """``--jobs`` names a job that does not exist."""


def parse_jobs(text: str) -> list[JobName]:
    """``ingest,dispatch`` -> the jobs, in the registry's order; ``all`` -> every job."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if names == ["all"]:
        return list(JobName)
    known = {job.value for job in JobName}
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise UnknownJobError(
            f"--jobs: unknown job {', '.join(map(repr, unknown)) or 'list (empty)'}; "
            f"known: {', '.join(known)} (or 'all')"
        )
    return [job for job in JobName if job.value in names]


class Job(Protocol):
    """A job the daemon starts, watches and stops."""

    name: JobName

    def start(self) -> None: ...

    def stop(self) -> None:
        """Finish the work in hand and return (called once, from the daemon's thread)."""

    def failure(self) -> BaseException | None:
        """The error that ended the job early, if it did."""


class _ThreadJob:
    """A job that is one loop in its own thread; an error escaping the loop stops the daemon."""

    name: JobName
    join_timeout_s = 60.0

    def __init__(self) -> None:
        self.halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def loop(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        try:
            self.loop()
        except BaseException as exc:  # reported by failure(): the daemon stops and exits non-zero
            log.exception("job ended by an error", extra={"job": self.name.value})
            self._failure = exc

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name.value, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.halt.set()
        if self._thread is not None:
            self._thread.join(timeout=self.join_timeout_s)

    def failure(self) -> BaseException | None:
        return self._failure


class IngestJob(_ThreadJob):
    name = JobName.INGEST

    def __init__(self, app: App, consumer: KafkaConsumer, wake: Doorbell) -> None:
        super().__init__()
        self.wake = wake
        self.hooks = app.outbox_hooks
        self.stream = StreamConsumer(
            consumer,
            Ingestor(app),
            app.settings.kafka_topics,
            app.settings.kafka_poll_batch,
            self._after,
            stop=self.halt,
        )

    def _after(self, results: list[IngestResult]) -> None:
        from skymist.archive.hooks import write_records_of

        if any(result.outbox_rows for result in results):
            self.wake.set()
        # every recorded alert gets its archive record, whether or not anything of it is ever sent
        write_records_of(self.hooks, [r.alert_id for r in results if r.status == "processed" and r.alert_id])
        for result in results:
            if result.status == "dead_letter":
                log.warning(
                    "message dead-lettered", extra={"source": result.source, "reason": result.summary}
                )

    def loop(self) -> None:
        try:
            while not self.halt.is_set():
                self.stream.poll_once(0.2)
        finally:
            self.stream.close()  # commits the stored offsets and leaves the group


class Doorbell:
    """Wakes every dispatcher loop at once when new outbox rows were committed (one event each, so
    no loop can clear another's wake-up)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[threading.Event] = []

    def subscribe(self) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._events.append(event)
        return event

    def set(self) -> None:
        with self._lock:
            events = list(self._events)
        for event in events:
            event.set()


class DispatchJob:
    """One dispatcher loop per sink, each in its own thread claiming only its sink's rows: a sink
    that hangs (Slack) holds up nobody else (Kafka notices, Circulars)."""

    name = JobName.DISPATCH

    def __init__(self, app: App, sinks: dict[str, Sink], doorbell: Doorbell) -> None:
        self.app = app
        self.halt = threading.Event()
        self.join_timeout_s = app.settings.sink_timeout_s * 2 + 5
        self.loops = [
            (Dispatcher(app, {name: sink}, owner=f"{name}-{uuid.uuid4().hex[:8]}"), doorbell.subscribe())
            for name, sink in sinks.items()
        ]
        self._threads: list[threading.Thread] = []
        self._failure: BaseException | None = None

    def _run(self, dispatcher: Dispatcher, wake: threading.Event) -> None:
        try:
            dispatcher.run_forever(self.halt, wake)
        except BaseException as exc:  # reported by failure(): the daemon stops and exits non-zero
            log.exception("job ended by an error", extra={"job": self.name.value})
            self._failure = exc

    def start(self) -> None:
        for dispatcher, wake in self.loops:
            sink = next(iter(dispatcher.sinks))
            thread = threading.Thread(
                target=self._run, args=(dispatcher, wake), name=f"dispatch-{sink}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self.halt.set()
        for _dispatcher, wake in self.loops:
            wake.set()
        deadline = time.monotonic() + self.join_timeout_s
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for dispatcher, _wake in self.loops:
            dispatcher.close()
        from skymist.archive.hooks import stop_records

        # the records of the last sends, then the record in hand: a backlog waits for the sweep
        stop_records(self.app.outbox_hooks, flush_s=RECORDS_FLUSH_S, timeout_s=RECORDS_FLUSH_S)

    def failure(self) -> BaseException | None:
        return self._failure


def guarded(name: str, work: Callable[[], object]) -> Callable[[], None]:
    """A scheduled run that logs its failure and leaves the next run to try again."""

    def run() -> None:
        try:
            work()
        except Exception:  # the store or the backend may be away for a while
            log.exception("background job failed", extra={"job": name})

    return run


class ScheduledJob:
    """A job run every ``interval_s`` by APScheduler (one run at a time; late runs coalesced).
    ``halt`` is set when the daemon stops: long work that watches it ends early (what it leaves is
    taken up at the next run), so the daemon's stop waits only for the step in hand."""

    def __init__(
        self,
        name: JobName,
        interval_s: float,
        work: Callable[[], object],
        halt: threading.Event | None = None,
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self.work = work
        self.halt = halt or threading.Event()
        self._scheduler: BackgroundScheduler | None = None

    def start(self) -> None:
        scheduler = BackgroundScheduler(
            timezone=dt.UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
        )
        scheduler.add_job(
            guarded(self.name.value, self.work),
            "interval",
            seconds=self.interval_s,
            id=self.name.value,
            next_run_time=dt.datetime.now(dt.UTC),
        )
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> None:
        self.halt.set()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)  # the run in hand finishes

    def failure(self) -> BaseException | None:
        return None


@dataclass
class JobInputs:
    """What the jobs are made from; the clients are made only for the jobs that use them."""

    app: App
    make_consumer: Callable[[], KafkaConsumer]
    make_sinks: Callable[[], dict[str, Sink]]
    make_scanner: Callable[[], ScannerBackend]
    wake: Doorbell = field(default_factory=lambda: Doorbell())
    #: consumers of the heartbeat job, from the settings it routes by (its own group ids)
    make_heartbeat_consumer: Callable[[Settings], KafkaConsumer] = kafka_clients.make_consumer
    #: the daemon's HTTP server when it serves the console (the console job then watches it)
    http: HttpServer | None = None


def _ingest(inputs: JobInputs) -> Job:
    return IngestJob(inputs.app, inputs.make_consumer(), inputs.wake)


def _dispatch(inputs: JobInputs) -> Job:
    return DispatchJob(inputs.app, inputs.make_sinks(), inputs.wake)


def _scans(inputs: JobInputs) -> Job:
    tracker = ScanTracker(inputs.app, inputs.make_scanner())
    return ScheduledJob(JobName.SCANS, inputs.app.settings.scan_tick_s, tracker.tick)


def _handoff(inputs: JobInputs) -> Job:
    handoff = Handoff(inputs.app, lifecycle.final_scan_consumers())
    return ScheduledJob(JobName.HANDOFF, HANDOFF_INTERVAL_S, handoff.sweep)


def _metrics(inputs: JobInputs) -> Job:
    from skymist.runtime.sampler import Sampler

    sampler = Sampler(inputs.app)
    return ScheduledJob(JobName.METRICS, inputs.app.settings.metrics_sample_s, sampler.sample)


def _heartbeat(inputs: JobInputs) -> Job:
    from skymist.runtime.heartbeat import HeartbeatJob

    if inputs.app.settings.heartbeat_interval_s <= 0:
        raise UnknownJobError("--jobs heartbeat: heartbeat_interval_s is 0 (off); set it, e.g. to 300")
    settings = inputs.app.settings
    return HeartbeatJob(
        inputs.app,
        make_producer=lambda: kafka_clients.make_producer(settings),
        make_consumer=inputs.make_heartbeat_consumer,
    )


def _archive(inputs: JobInputs) -> Job:
    from skymist.archive.sweep import ArchiveSweep
    from skymist.archive.trouble import ArchiveTrouble

    sweep = ArchiveSweep(inputs.app.settings, inputs.app.sessions, ArchiveTrouble(inputs.app))
    halt = threading.Event()
    interval_s = inputs.app.settings.archive_sweep_interval_s
    return ScheduledJob(JobName.ARCHIVE, interval_s, lambda: sweep.sweep(stop=halt), halt=halt)


class ServedConsoleJob:
    """The console mounted on the daemon's HTTP server (started before the jobs, stopped after
    them): the job reports the server's failure, so the daemon stops when the port does."""

    name = JobName.CONSOLE

    def __init__(self, server: HttpServer) -> None:
        self.server = server

    def start(self) -> None:
        return

    def stop(self) -> None:
        return

    def failure(self) -> BaseException | None:
        return self.server.failure()


class ConsoleJob:
    """The web console alone on ``console_host:console_port``: uvicorn in its own thread (jobs made
    without the daemon's HTTP server)."""

    name = JobName.CONSOLE

    def __init__(self, app: App) -> None:
        from skymist.console.server import ConsoleServer

        self.server = ConsoleServer(app)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def failure(self) -> BaseException | None:
        return self.server.failure()


def _console(inputs: JobInputs) -> Job:
    if inputs.http is not None:
        return ServedConsoleJob(inputs.http)
    return ConsoleJob(inputs.app)


#: the registry: how each named job is made
JOB_FACTORIES: dict[JobName, Callable[[JobInputs], Job]] = {
    JobName.INGEST: _ingest,
    JobName.DISPATCH: _dispatch,
    JobName.SCANS: _scans,
    JobName.HANDOFF: _handoff,
    JobName.METRICS: _metrics,
    JobName.HEARTBEAT: _heartbeat,
    JobName.ARCHIVE: _archive,
    JobName.CONSOLE: _console,
}


def default_jobs(app: App) -> list[JobName]:
    """Every job, less the scan jobs when scans are disabled, the heartbeat when it is off, the
    archive job when the archive is, and the console unless ``console_enabled``."""
    scan_jobs = {JobName.SCANS, JobName.HANDOFF}
    return [
        job
        for job in JobName
        if (app.settings.scans_enabled or job not in scan_jobs)
        and (job != JobName.HEARTBEAT or app.settings.heartbeat_interval_s > 0)
        and (job != JobName.ARCHIVE or app.settings.archive_enabled)
        and (job != JobName.CONSOLE or app.settings.console_enabled)
    ]


def make_jobs(names: Iterable[JobName], inputs: JobInputs) -> list[Job]:
    return [JOB_FACTORIES[name](inputs) for name in names]


def standard_inputs(
    app: App,
    *,
    console: TextIO | None = None,
    make_consumer: Callable[[], KafkaConsumer] | None = None,
    http: HttpServer | None = None,
) -> JobInputs:
    """The production clients, from the settings (Slack on ``console`` when given: the demo; the
    console job watches ``http`` when the daemon's HTTP server serves it)."""
    settings = app.settings
    return JobInputs(
        app=app,
        make_consumer=make_consumer or (lambda: kafka_clients.make_consumer(settings)),
        make_sinks=lambda: build_sinks(settings, console=console),
        make_scanner=lambda: make_scanner_client(settings),
        http=http,
    )
