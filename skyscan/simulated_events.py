"""The simulated events of a folder, whichever simulation wrote them.

``skyscan simulate`` writes ``sim_S_I.json``, ``skyscan truthsim`` writes ``truthsim_S_I.json``; both
are realtime messages with the truth in ``value.data.simulation`` (``zenith``, ``azimuth`` the muon
comes from, ``energy_gev``) and the first guess in ``value.data.reco.linefit``. A file is a simulated
event by what it holds, not by its name: every ``*.json`` of the folder that carries those keys is one
(other JSON files, such as a threshold set written beside the events, are passed over), or, with an
explicit pattern, every file the pattern matches, each of which must be one. ``generator`` says which
simulation wrote it (``truthsim`` marks its events; ``skyscan simulate``'s carry no marker).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: the keys of ``value.data.simulation`` that the calibration reads (all numbers)
TRUTH_KEYS = ("zenith", "azimuth", "energy_gev")
DEFAULT_PATTERN = "*.json"


@dataclass(frozen=True)
class SimulatedEvent:
    """One file holding a simulated event, and the simulation that wrote it."""

    path: Path
    generator: str  # "skyscan simulate" or "skyscan truthsim" (or "skyscan <marker>")


@dataclass(frozen=True)
class SimulatedSet:
    """The simulated events of a folder (sorted by file name) and what was passed over."""

    events: list[SimulatedEvent]
    passed_over: list[Path] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [event.path for event in self.events]


def count_generators(events: Iterable[SimulatedEvent]) -> dict[str, int]:
    """How many of ``events`` each simulation wrote, by its name."""
    return dict(sorted(Counter(event.generator for event in events).items()))


def simulation_truth(message: object) -> dict[str, object]:
    """``value.data.simulation`` of a simulated event the calibration can read; :class:`ValueError`
    saying what is missing otherwise."""
    if not isinstance(message, dict):
        raise ValueError(f"expected a JSON object, got {type(message).__name__}")
    value = message.get("value")
    data = value.get("data") if isinstance(value, dict) else None
    if not isinstance(data, dict):
        raise ValueError("value.data: missing (not a realtime message)")
    truth = data.get("simulation")
    if not isinstance(truth, dict):
        raise ValueError("value.data.simulation: missing (not a simulated event)")
    for key in TRUTH_KEYS:
        number = truth.get(key)
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise ValueError(f"value.data.simulation.{key}: expected a finite number, got {number!r}")
    reco = data.get("reco")
    if not isinstance(reco, dict) or not isinstance(reco.get("linefit"), dict):
        raise ValueError("value.data.reco.linefit: missing (the first guess)")
    return truth


def generator_of(truth: dict[str, object]) -> str:
    """Which simulation wrote an event: ``skyscan truthsim`` by its marker, else ``skyscan simulate``."""
    marker = truth.get("generator")
    return f"skyscan {marker}" if isinstance(marker, str) and marker else "skyscan simulate"


def find_simulated_events(directory: Path, pattern: str | None = None) -> SimulatedSet:
    """The simulated events of ``directory``: every ``*.json`` holding one, or every file ``pattern``
    matches (then each must hold one). Raises :class:`ValueError` with one line naming the folder, the
    pattern or the file, when there is no folder, a matched file is not a simulated event, or none is."""
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory")
    events: list[SimulatedEvent] = []
    passed_over: list[Path] = []
    try:
        matched = sorted(p for p in directory.glob(pattern or DEFAULT_PATTERN) if p.is_file())
    except (ValueError, NotImplementedError) as exc:  # an empty or absolute pattern
        raise ValueError(
            f"--pattern {pattern!r}: {exc} (give a file-name pattern such as 'truthsim_*.json')"
        ) from None
    for path in matched:
        try:
            truth = simulation_truth(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
            if pattern is not None:
                raise ValueError(f"--pattern {pattern}: {path} is not a simulated event: {exc}") from None
            passed_over.append(path)
        else:
            events.append(SimulatedEvent(path, generator_of(truth)))
    if not events:
        looked = (
            f"no file matches --pattern {pattern}"
            if pattern
            else f"none of its {len(passed_over)} *.json files holds value.data.simulation "
            f"with {', '.join(TRUTH_KEYS)}"
        )
        raise ValueError(
            f"{directory}: no simulated events: {looked} (make them with `skyscan simulate` or "
            "`skyscan truthsim`)"
        )
    return SimulatedSet(events, passed_over)
