"""The ``event``, ``simulate``, ``calibrate`` and ``calibrate-online`` subcommands of ``skyscan``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from skybase.json_types import JSONObject
from skyscan.argument_types import non_negative_int, positive_int

if TYPE_CHECKING:
    from skyscan.calibration import EventOutcome

INSPECT_DESCRIPTION = """\
Decode a realtime message's IceTray frames (plain Python: safe unpickler, frame CRC-32C, I3SuperDST,
masks, I3Particles), apply the online cleaning, and print one JSON report: frames, pulses before and
after cleaning beside the message's npulses/nch/qtot (matches_message: equal once rounded to the 5
decimals IceCube's messages carry), and the online fits decoded from the P frame beside value.data.reco.
A legacy HESE message (value.data is the frame list) is read from its frames: ids and time from
I3EventHeader (legacy_message: true; it states no counts, so matches_message is null).
--png draws the event (DOMs sized by charge, coloured by time)."""


SIMULATE_DESCRIPTION = """\
Simulate muon tracks (isotropic, 10 TeV - 1 PeV, through the shipped IC86 geometry and layered ice;
photon delays from a log-normal scattering model, not the reco's Pandel PDF; PMT jitter, noise, DOM
efficiency) and write each as an i3live realtime message (2023a frames: I3SuperDST, masks, LineFit,
header) with the truth in value.data.simulation. Event I of seed S is the same on every run."""

CALIBRATE_DESCRIPTION = """\
For each simulated event, 2 Delta llh at the true direction and the best fit's error; the 50% / 90%
quantiles over the first N events are the thresholds, stored with their provenance; coverage and median
angular error (per energy band) are measured on the remaining events. Prints the threshold set.

The events are those of `skyscan simulate` (sim_S_I.json) or `skyscan truthsim` (truthsim_S_I.json),
chosen by content: every *.json of DIR whose value.data.simulation holds zenith, azimuth and energy_gev
(other JSON files are passed over and counted on stderr); --pattern picks the files by name instead."""

CALIBRATE_EPILOG = """\
examples:
  nice -n 19 skyscan calibrate SIM --calibration-events 300 --output thresholds.json
  nice -n 19 skyscan calibrate SIM --pattern 'truthsim_*.json' --calibration-events 300 --output t.json"""

CALIBRATE_ONLINE_DESCRIPTION = """\
Calibrate online_gaussian's 50% / 90% radii on public data: how far IceCube's online positions (Rev 0
GCN notices) lay from its refined positions, for the Gold/Bronze alerts of the shipped sample
(skyscan/data/online_offsets_gcn.csv; rebuild it with scripts/build_online_offsets.py). Every third
alert in run order is held out and measures coverage. Prints the calibration record (JSON); --output
also writes it (the shipped record is skyscan/data/online_gaussian_calibration.json)."""


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``event inspect``, ``simulate``, ``calibrate`` and ``calibrate-online`` to ``skyscan``."""
    event = sub.add_parser("event", help="look inside an event message's IceTray frames")
    event_sub = event.add_subparsers(dest="event_command", metavar="ACTION", required=True)
    inspect = event_sub.add_parser(
        "inspect", help="decode the frames: pulses, cleaning, online fits", description=INSPECT_DESCRIPTION
    )
    inspect.add_argument("event", metavar="EVENT.json", help="the i3live realtime message")
    inspect.add_argument("--png", type=Path, metavar="PICTURE.png", help="also draw the event here")
    inspect.set_defaults(handler=_cmd_inspect)

    simulate = sub.add_parser(
        "simulate",
        help="simulate muon events as realtime messages (for calibration)",
        description=SIMULATE_DESCRIPTION,
    )
    simulate.add_argument("--seed", type=non_negative_int, required=True, help="the set's seed")
    simulate.add_argument("--count", type=positive_int, required=True, help="how many events")
    simulate.add_argument("--first-index", type=non_negative_int, default=0, help="index of the first event")
    simulate.add_argument(
        "--output-dir", type=Path, required=True, metavar="DIR", help="written as DIR/sim_S_I.json"
    )
    simulate.set_defaults(handler=_cmd_simulate)

    calibrate = sub.add_parser(
        "calibrate",
        help="derive pandel_mpe's 50%%/90%% thresholds from simulated events and measure coverage",
        description=CALIBRATE_DESCRIPTION,
        epilog=CALIBRATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    calibrate.add_argument(
        "events",
        type=Path,
        metavar="DIR",
        help="directory of simulated events (`skyscan simulate` or `skyscan truthsim`, or both)",
    )
    calibrate.add_argument(
        "--pattern",
        metavar="GLOB",
        help="only the files of DIR matching GLOB, e.g. 'truthsim_*.json'; each must be a simulated "
        "event (default: every *.json holding one)",
    )
    calibrate.add_argument(
        "--calibration-events",
        type=positive_int,
        required=True,
        metavar="N",
        help="the first N events (files sorted by name) set the thresholds; the rest measure coverage",
    )
    calibrate.add_argument(
        "--output",
        type=Path,
        required=True,
        metavar="THRESHOLDS.json",
        help="where the threshold set is written (it is also printed)",
    )
    calibrate.add_argument(
        "--cache",
        type=Path,
        metavar="OUTCOMES.jsonl",
        help="per-event outcomes, reused when present (default DIR/outcomes.jsonl)",
    )
    calibrate.set_defaults(handler=_cmd_calibrate)

    online = sub.add_parser(
        "calibrate-online",
        help="calibrate online_gaussian's radii on public Rev 0 / refined alert positions",
        description=CALIBRATE_ONLINE_DESCRIPTION,
    )
    online.add_argument(
        "--sample",
        type=Path,
        metavar="OFFSETS.csv",
        help="another sample in the same columns (default: the shipped one)",
    )
    online.add_argument("--output", type=Path, metavar="CALIBRATION.json", help="also write the record here")
    online.set_defaults(handler=_cmd_calibrate_online)


def _fail(command: str, message: str) -> int:
    print(f"skyscan {command}: {message}", file=sys.stderr)
    return 2


def _read_message(command: str, path: str) -> JSONObject | None:
    try:
        loaded = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        _fail(command, f"cannot read event {path}: {exc}")
        return None
    if not isinstance(loaded, dict):
        _fail(command, f"{path}: expected a JSON object (an i3live message), got {type(loaded).__name__}")
        return None
    return loaded


def _cmd_inspect(args: argparse.Namespace) -> int:
    from skyscan.inspect_event import draw_event, inspect_message

    message = _read_message("event inspect", args.event)
    if message is None:
        return 2
    try:
        report, frames, cleaned = inspect_message(message)
    except (ValueError, KeyError, TypeError) as exc:
        return _fail("event inspect", f"{args.event}: {exc}")
    if args.png:
        try:
            draw_event(frames, cleaned, args.png, f"run {report['run_id']} event {report['event_id']}")
        except OSError as exc:
            return _fail("event inspect", f"cannot write {args.png}: {exc}")
        report["png"] = str(args.png)
    print(json.dumps(report, indent=1))
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from skybase.i3.geometry import Geometry, IceTable
    from skyscan.simulation.message import simulate_event

    try:
        args.output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail("simulate", f"--output-dir {args.output_dir}: {exc}")
    geometry, ice = Geometry.load(), IceTable.load()
    tries = 0
    for index in range(args.first_index, args.first_index + args.count):
        event = simulate_event(args.seed, index, geometry, ice)
        tries += event.tries
        path = args.output_dir / f"sim_{args.seed:04d}_{index:06d}.json"
        path.write_text(json.dumps(event.message))
    summary = {"seed": args.seed, "events": args.count, "muons_drawn": tries, "output": str(args.output_dir)}
    print(json.dumps(summary))
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from skyscan.calibration import calibrate, evaluate_files
    from skyscan.simulated_events import count_generators, find_simulated_events

    try:
        found = find_simulated_events(args.events, args.pattern)
    except ValueError as exc:
        return _fail("calibrate", str(exc))
    files = found.paths
    n = args.calibration_events
    if len(files) <= n:
        return _fail(
            "calibrate",
            f"{args.events}: {len(files)} simulated events, but --calibration-events {n} leaves none "
            "held out",
        )
    generators = count_generators(found.events)
    print(
        f"{args.events}: {len(files)} simulated events "
        f"({', '.join(f'{name}: {count}' for name, count in generators.items())}); "
        f"{len(found.passed_over)} other files passed over",
        file=sys.stderr,
    )
    cache = args.cache or args.events / "outcomes.jsonl"

    def progress(outcome: EventOutcome) -> None:
        print(
            f"{outcome.name}: 2dllh {outcome.two_delta_llh:.2f} error {outcome.error_deg:.2f} deg "
            f"({outcome.seconds:.1f} s)",
            file=sys.stderr,
        )

    outcomes = evaluate_files(files, cache, {}, progress)
    provenance: JSONObject = {
        "events_dir": str(args.events),
        "pattern": args.pattern,
        "generators": generators,
        "reco_options": {},
    }
    source = " and ".join(count_generators(found.events[:n]))
    try:
        result = calibrate(outcomes[:n], outcomes[n:], provenance, source=source)
    except ValueError as exc:
        return _fail("calibrate", str(exc))
    try:
        args.output.write_text(json.dumps(result, indent=1) + "\n")
    except OSError as exc:
        return _fail("calibrate", f"--output {args.output}: {exc.strerror or exc}")
    print(json.dumps(result, indent=1))
    return 0


def _cmd_calibrate_online(args: argparse.Namespace) -> int:
    from skyscan.online_calibration import calibrate

    try:
        text = args.sample.read_text(encoding="utf-8") if args.sample else None
        record = calibrate(text)
    except OSError as exc:
        return _fail("calibrate-online", f"--sample {args.sample}: {exc.strerror or exc}")
    except ValueError as exc:
        return _fail("calibrate-online", str(exc))
    document = json.dumps(record, indent=1) + "\n"
    if args.output:
        try:
            args.output.write_text(document)
        except OSError as exc:
            return _fail("calibrate-online", f"--output {args.output}: {exc.strerror or exc}")
    print(document, end="")
    return 0
