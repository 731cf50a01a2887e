"""The ``skyscan`` command: ``scan`` one event, run a pixel ``worker``, ``serve`` the SkyDriver API."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

from skybase.json_types import JSONObject, JSONValue
from skybase.logs import configure_logging
from skyscan.argument_parser import OneLineParser
from skyscan.argument_types import non_negative_int

DESCRIPTION = """\
skyscan: a local, SkyDriver-compatible sky-scan service. A scan fits an event's likelihood pixel by
pixel on a HEALPix grid and refines around the best fit, as IceCube's Skymap Scanner does; pixel
fits run on workers, in this process or on any machine through RabbitMQ."""

SCAN_DESCRIPTION = """\
Scan one event without the service and write the result in skyreader's JSON format.

The event is an i3live realtime message (JSON: _id, service, varname, value, ...; a legacy HESE
message, whose value.data is the list of frames, is read from its frames as IceCube's scanner reads
it: ids and time from I3EventHeader, the online SplineMPE from the P frame). The scan fits
every pixel of the first nside, then refines around the best pixel at each next nside (NSIDE:E:
the E pixels nearest the best fit are split into NESTED children), re-refining whenever the best
pixel moves, until nothing new is generated. Progress (pixels done/generated per nside) goes to
stderr; a one-line JSON summary (best fit, pixel counts) goes to stdout.

Recos:
  pandel_mpe       a fit of the event's own pulses (decoded from its IceTray frames, cleaned as
                   online): per pixel, vertex and time fitted with an MPE Pandel likelihood (options
                   jitter_ns=4, noise_per_ns=1e-6, ice=layered|homogeneous, give_up_dllh=120:
                   from its 10th iteration, a pixel still that far above the online direction's
                   -ln L and coming down too slowly to reach it stops its search; 0 never
                   gives up).
  table_mpe        a fit of the same pulses with skyscan's photon tables: MPE timing (tabulated
                   PDF with Gaussian jitter) plus Poisson charge of hit and unhit DOMs, muon energy
                   profiled (options timing=mpe|spe, jitter_ns=4, noise_per_ns=1e-6, noise_pe=0.01,
                   saturation_pe=1000, charge_radius_m=250, charge_weight=1, give_up_dllh=200);
                   Wilks regions, not calibrated.
  online_gaussian  approximation: regions around the online SplineMPE direction whose 50%/90%
                   radii are calibrated on how far IceCube's online positions lay from its refined
                   ones for public Gold/Bronze alerts (skyscan calibrate-online); fixed radii with
                   --reco-option r50_deg=0.6 --reco-option r90_deg=1.7. Not a fit.
  dummy            random llh per pixel (lifecycle tests); options delay_s, cpu_work, seed,
                   first_delivery_delay_s, fail_deliveries."""

SCAN_EPILOG = """\
examples:
  skyscan scan event.json --output result.json
  skyscan scan event.json --nsides 8:0,64:12 --workers 2 --predictive-scanning-threshold 0.6
  skyscan scan event.json --reco dummy --reco-option delay_s=0.01 --reco-option seed=7
  skyscan scan event.json --broker amqp://guest:guest@127.0.0.1:5672/ --workers 2"""

WORKER_DESCRIPTION = """\
Consume pixel tasks from RabbitMQ, fit them, publish the outcomes; run as many as you have cores,
on any machine that reaches the broker. A task message (one or more tasks) is acknowledged only
after the outcomes of its tasks are confirmed by the broker, so a worker can be killed at any
moment (even with -9) without losing a pixel: the broker gives the message to another worker. A
fit that exceeds the scan's max_pixel_reco_time is abandoned and redelivered, and this worker
pauses (--backoff-s); the message's other tasks are fitted or given back, never timed out.
If the broker goes away the worker reconnects (backing off up to 30 s).
SIGTERM/SIGINT: report the tasks fitted, give the others back, then stop.
For tests: SKYSCAN_DUMMY_GATE_DIR=DIR in the environment makes the dummy reco's fits pass the gate
in DIR (a number N in DIR/limit holds each scan after N fits; see skyscan/recos/dummy_gate.py)."""

WORKER_EPILOG = """\
examples:
  skyscan worker --broker amqp://guest:guest@rabbit.example.org:5672/
  SKYSCAN_BROKER_URL=amqp://user:pass@host/ skyscan worker --prefetch 4"""

_SERVE_MODULE = "skyscan.server.command"


def _reco_option(text: str) -> tuple[str, JSONValue]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value: JSONValue = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def _threshold(text: str) -> float:
    from skyscan.pixels import ProgressionError, check_predictive_threshold

    try:
        return check_predictive_threshold(float(text))
    except (ValueError, ProgressionError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _nsides(text: str) -> tuple[tuple[int, int], ...]:
    from skyscan.pixels import NsideProgression, ProgressionError

    try:
        return NsideProgression.parse(text).steps
    except ProgressionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def new_scan_id() -> str:
    """A SkyDriver-style scan id: 11 hex digits of the time in ms, ``x``, 20 hex digits at random."""
    return f"{int(time.time() * 1000):011x}x{uuid.uuid4().hex[:20]}"


class ProgressBar:
    """The scan's observer for the terminal: pixels done / generated per nside on stderr."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()

    def manifest_patch(self, body: JSONObject) -> None:
        progress = body["progress"]
        tallies = progress["tallies"]
        parts = []
        current = None
        for nside, tally in tallies["nsides"].items():
            pixels = tally["pixels"]
            if pixels["generated"]:
                current = nside
                parts.append(f"nside {nside}: {pixels['done']}/{int(pixels['generated'])}")
        overall = tallies["overall"]["pixels"]
        generated = int(overall["generated"])
        width = 24
        filled = int(width * overall["done"] / generated) if generated else 0
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {overall['done']}/{generated} pixels"
            f" (now at nside {current or '-'})  {'  '.join(parts)}"
        )
        if self.live:
            self.stream.write("\r\x1b[2K" + line)
            if progress["end"] is not None:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def result(self, skyscan_result: JSONObject, is_final: bool) -> None:
        """Results are written once, at the end (``--output``)."""


def _cmd_scan(args: argparse.Namespace) -> int:
    from skyscan.engine import ScanCancelled, ScanFailed, ScanRequest, run_scan
    from skyscan.workers import open_pool

    try:
        event = json.loads(Path(args.event).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"skyscan scan: cannot read event {args.event}: {exc}", file=sys.stderr)
        return 2
    request = ScanRequest(
        scan_id=new_scan_id(),
        event=event,
        reco_algo=args.reco,
        nsides=args.nsides,
        is_real_event=not args.simulated,
        max_pixel_reco_time=args.max_pixel_reco_time,
        predictive_scanning_threshold=args.predictive_scanning_threshold,
        reco_options=dict(args.reco_option),
    )
    broker = args.broker or os.environ.get("SKYSCAN_BROKER_URL")
    if broker:
        workers = 0 if args.workers is None else args.workers
        if workers == 0:
            print("skyscan scan: waiting for `skyscan worker` processes on the broker", file=sys.stderr)
    else:
        workers = args.workers or os.cpu_count() or 1
    cancel = threading.Event()
    bar = ProgressBar(sys.stderr)
    started = time.monotonic()
    try:
        with (
            _stop_on_signals(cancel),
            open_pool("rabbitmq" if broker else "inprocess", workers=workers, broker_url=broker) as pool,
        ):
            result = run_scan(
                request, bar, pool=pool, cancel=cancel, progress_interval_s=0.5, result_interval_s=3600
            )
    except ScanCancelled:
        print("\nskyscan scan: cancelled", file=sys.stderr)
        return 130
    except ScanFailed as exc:
        print(f"\nskyscan scan: failed: {exc.reason}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started
    if args.output:
        args.output.write_text(json.dumps(result))
    summary = _summary(result, request.scan_id, elapsed)
    summary["output"] = str(args.output) if args.output else None
    print(json.dumps(summary))
    return 0


def _summary(result: JSONObject, scan_id: str, elapsed_s: float) -> JSONObject:
    """Best fit (lowest llh over all nsides) and pixel counts of a result, read as a client would."""
    import math

    from scanner_client.skyscan_result import SkyscanResult
    from skyscan.pixels import pixel_directions

    parsed = SkyscanResult.model_validate(result)
    out: JSONObject = {
        "scan_id": scan_id,
        "pixels": {str(nside): len(parsed.at(nside).data) for nside in parsed.nsides},
        "seconds": round(elapsed_s, 3),
    }
    best = parsed.best_fit()
    if best is not None:
        ra, dec = pixel_directions(best.nside, [best.pixel])
        out["best_fit"] = {
            "nside": best.nside,
            "index": best.pixel,
            "llh": best.llh,
            "ra_deg": round(math.degrees(float(ra[0])), 4),
            "dec_deg": round(math.degrees(float(dec[0])), 4),
        }
    return out


class _stop_on_signals:  # noqa: N801 - used as a context manager, like contextlib's
    """SIGINT/SIGTERM set ``stop`` instead of raising, while inside the block (main thread only)."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.saved: dict[int, signal._HANDLER] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.stop.set()

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.saved[signum] = signal.signal(signum, self._handle)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.saved.items():
            signal.signal(signum, handler)


def _cmd_worker(args: argparse.Namespace) -> int:
    from skyscan.workers.rabbitmq import BROKER_URL_ENV
    from skyscan.workers.rabbitmq_worker import serve

    broker = args.broker or os.environ.get(BROKER_URL_ENV)
    if not broker:
        print(f"skyscan worker: give --broker URL or set {BROKER_URL_ENV}", file=sys.stderr)
        return 2
    stop = threading.Event()
    with _stop_on_signals(stop):
        stats = serve(
            broker, task_queue=args.queue, prefetch=args.prefetch, backoff_s=args.backoff_s, stop=stop
        )
    logging.getLogger("skyscan.worker").info("worker stopped: %s", stats)
    return 0


def _add_log_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging on stderr (default WARNING)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="skyscan", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # the subcommands' parsers (and theirs) are OneLineParsers too: a mistake is one line, exit 2
    sub: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=OneLineParser
    )

    _add_scan_command(sub)

    from skyscan.commands import add_commands  # event inspect, simulate, calibrate

    add_commands(sub)

    from skyscan.photonics.command import add_tables_command  # tables build, tables info

    add_tables_command(sub)

    from skyscan.truthsim.command import add_truthsim_command  # truthsim (issue 22 point 4)

    add_truthsim_command(sub)

    _add_worker_command(sub)
    _add_serve_command(sub)
    return parser


def _add_scan_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``skyscan scan``: one event scanned here and now."""
    scan = sub.add_parser(
        "scan",
        help="scan one event here and now (no service)",
        description=SCAN_DESCRIPTION,
        epilog=SCAN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument("event", metavar="EVENT.json", help="the i3live realtime message")
    _add_scan_request_options(scan)
    scan.add_argument(
        "--workers",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="pixel workers: in-process ones (default: one per core), or with --broker "
        "local `skyscan worker` processes to start (default 0: external ones)",
    )
    scan.add_argument(
        "--broker",
        metavar="AMQP_URL",
        help="fit pixels through RabbitMQ (default $SKYSCAN_BROKER_URL; unset: in-process)",
    )
    scan.add_argument(
        "--output", type=Path, metavar="RESULT.json", help="write the skyreader-format result here"
    )
    scan.add_argument(
        "--simulated", action="store_true", help="mark the event as simulated (is_real_event false)"
    )
    _add_log_level(scan)
    scan.set_defaults(handler=_cmd_scan)


def _add_scan_request_options(scan: argparse.ArgumentParser) -> None:
    """What a scan request says: the reco and its options, the nsides, the threshold, the time limit."""
    from skyscan.recos import RECO_ALGORITHMS

    scan.add_argument(
        "--reco",
        default="online_gaussian",
        choices=sorted(RECO_ALGORITHMS),
        help="reconstruction algorithm (default online_gaussian)",
    )
    scan.add_argument(
        "--reco-option",
        action="append",
        type=_reco_option,
        default=[],
        metavar="KEY=VALUE",
        help="an option of the reco, VALUE as JSON or text (repeatable)",
    )
    scan.add_argument(
        "--nsides",
        type=_nsides,
        default=((8, 0), (64, 12), (512, 24)),
        metavar="N:E,...",
        help="nside progression, NSIDE:PIXEL_EXTENSION (default 8:0,64:12,512:24)",
    )
    scan.add_argument(
        "--predictive-scanning-threshold",
        type=_threshold,
        default=1.0,
        metavar="T",
        help="fraction of an nside's pixels back before refining (0.1 < T <= 1; default 1)",
    )
    scan.add_argument(
        "--max-pixel-reco-time",
        type=float,
        default=None,
        metavar="S",
        help="abandon and redeliver a pixel fit after S seconds (default: no limit)",
    )


def _add_worker_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``skyscan worker``: pixel fits from RabbitMQ."""
    from skyscan.workers.pool import DEFAULT_PREFETCH, DEFAULT_TASK_QUEUE

    worker = sub.add_parser(
        "worker",
        help="fit pixel tasks from RabbitMQ",
        description=WORKER_DESCRIPTION,
        epilog=WORKER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    worker.add_argument("--broker", metavar="AMQP_URL", help="RabbitMQ URL (default $SKYSCAN_BROKER_URL)")
    worker.add_argument(
        "--queue",
        default=DEFAULT_TASK_QUEUE,
        metavar="NAME",
        help=f"task queue to consume (default {DEFAULT_TASK_QUEUE})",
    )
    worker.add_argument(
        "--prefetch",
        type=int,
        default=DEFAULT_PREFETCH,
        metavar="N",
        help=f"task messages (of one or more tasks) held unacknowledged at once (default "
        f"{DEFAULT_PREFETCH}: the next message's first fit starts while the last one's outcomes are "
        "confirmed)",
    )
    worker.add_argument(
        "--backoff-s",
        type=float,
        default=None,
        metavar="S",
        help="pause after abandoning an overrunning fit (default: its time limit, at most 60 s)",
    )
    _add_log_level(worker)
    worker.set_defaults(handler=_cmd_worker)


def _add_serve_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``skyscan serve`` (and its subcommands), when the server package is installed."""
    try:
        serve = importlib.import_module(_SERVE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name not in (_SERVE_MODULE, _SERVE_MODULE.rpartition(".")[0]):
            raise
    else:
        serve.register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("scan", "worker"):
        configure_logging("skyscan", args.log_level)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
