"""The two messages between a scan and its pixel workers: pixel tasks and their outcomes (JSON).

IceCube's scanner ships pickled IceTray frames; these are skyscan's own, plain JSON so any worker on
any machine can read them (``v`` is the format version). A task message carries one or more tasks of
one scan that share all but their pixel, so the reco's ``setup`` travels once per message, not once per
pixel; an outcome message carries the outcomes of one or more tasks of one scan::

    task    {"v": 2, "scan_id", "reco_algo", "setup": {...}, "timeout_s": float | null, "sent_at": epoch,
             "pixels": [{"nside", "pixel", "posvar", "ra", "dec", "vertex": [x, y, z, t] | null,
                         "delivery": n}, ...]}
    outcome {"v": 2, "scan_id", "worker": str,
             "outcomes": [{"kind": "fit" | "timeout" | "error", "nside", "pixel", "posvar",
                           "fit": [llh, E_in, E_tot, X, Y, Z, T] | null (NaN as null), "runtime": s,
                           "error": str, "sent_at": epoch, "delivery": n}, ...]}

A pixel's ``delivery`` says which delivery of its task the message is (1 when the scan first sends it);
a worker that receives the message flagged as redelivered by the broker counts one more.

A ``timeout`` outcome is a notice: the worker abandoned the fit after ``timeout_s`` and gave the task
back for redelivery. An ``error`` outcome says the fit raised; the task is not redelivered by the worker.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from skybase.json_types import JSONValue
from skyscan.recos.base import PixelFit, PixelSeed, Vertex

MESSAGE_VERSION = 2
#: the RabbitMQ queue pixel tasks travel on (the pool and the workers both name it)
DEFAULT_TASK_QUEUE = "skyscan.pixels"


class MessageError(ValueError):
    """A task or outcome message that cannot be read."""


class OutcomeKind(enum.Enum):
    FIT = "fit"
    TIMEOUT = "timeout"
    ERROR = "error"


@dataclass(frozen=True)
class PixelTask:
    """One fit of one position variation of one pixel."""

    scan_id: str
    reco_algo: str
    setup: Mapping[str, JSONValue]
    nside: int
    pixel: int
    posvar: int
    ra: float
    dec: float
    vertex: Vertex | None = None
    timeout_s: float | None = None
    sent_at: float = 0.0
    delivery: int = 1  # which delivery of the task this is (1: the first)

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.nside, self.pixel, self.posvar)

    def seed(self) -> PixelSeed:
        return PixelSeed(
            self.nside, self.pixel, self.ra, self.dec, self.posvar, self.vertex, self.delivery, self.scan_id
        )

    def redelivered(self) -> PixelTask:
        return replace(self, delivery=self.delivery + 1)

    def shares_message_with(self, other: PixelTask) -> bool:
        """Whether both tasks can travel in one task message (all but the pixel fields the same)."""
        return (
            self.scan_id == other.scan_id
            and self.reco_algo == other.reco_algo
            and self.timeout_s == other.timeout_s
            and self.sent_at == other.sent_at
            and (self.setup is other.setup or self.setup == other.setup)
        )


def group_tasks(tasks: Sequence[PixelTask], per_message: int) -> list[list[PixelTask]]:
    """``tasks`` in order, cut into groups of at most ``per_message`` that can each be one message."""
    if per_message < 1:
        raise ValueError(f"per_message: must be >= 1, got {per_message}")
    groups: list[list[PixelTask]] = []
    for task in tasks:
        group = groups[-1] if groups else None
        if group is None or len(group) >= per_message or not task.shares_message_with(group[0]):
            groups.append([task])
        else:
            group.append(task)
    return groups


def encode_tasks(tasks: Sequence[PixelTask]) -> bytes:
    """One task message of ``tasks`` (at least one, all sharing a message: see :func:`group_tasks`)."""
    if not tasks:
        raise ValueError("tasks: a task message needs at least one task")
    first = tasks[0]
    for task in tasks:
        if not task.shares_message_with(first):
            raise ValueError(
                f"tasks: nside {task.nside} pixel {task.pixel} differs from the first task in more than "
                "its pixel; they cannot share a message"
            )
    message = {
        "v": MESSAGE_VERSION,
        "scan_id": first.scan_id,
        "reco_algo": first.reco_algo,
        "setup": dict(first.setup),
        "timeout_s": first.timeout_s,
        "sent_at": first.sent_at,
        "pixels": [
            {
                "nside": task.nside,
                "pixel": task.pixel,
                "posvar": task.posvar,
                "ra": task.ra,
                "dec": task.dec,
                "vertex": None
                if task.vertex is None
                else [task.vertex.x, task.vertex.y, task.vertex.z, task.vertex.t],
                "delivery": task.delivery,
            }
            for task in tasks
        ],
    }
    return json.dumps(message, separators=(",", ":")).encode()


def decode_tasks(body: bytes, *, redelivered: bool = False) -> list[PixelTask]:
    """The tasks of a task message; ``redelivered`` (the broker's flag) counts one more delivery each."""
    data = _load(body, "task")
    _check_version(data, "task")
    setup = data.get("setup")
    if not isinstance(setup, Mapping):
        raise MessageError(f"task.setup: expected an object, got {setup!r}")
    timeout = data.get("timeout_s")
    scan_id = _str(data, "scan_id", "task")
    reco_algo = _str(data, "reco_algo", "task")
    timeout_s = None if timeout is None else _float(data, "timeout_s", "task")
    sent_at = _float(data, "sent_at", "task")
    pixels = data.get("pixels")
    if not isinstance(pixels, list) or not pixels:
        raise MessageError(f"task.pixels: expected a non-empty list of objects, got {pixels!r}")
    tasks: list[PixelTask] = []
    for pixel in pixels:
        if not isinstance(pixel, Mapping):
            raise MessageError(f"task.pixels: expected objects, got {pixel!r}")
        vertex = pixel.get("vertex")
        delivery = _int(pixel, "delivery", "task.pixels")
        if delivery < 1:
            raise MessageError(f"task.pixels.delivery: expected a count >= 1, got {delivery}")
        tasks.append(
            PixelTask(
                scan_id=scan_id,
                reco_algo=reco_algo,
                setup=setup,
                nside=_int(pixel, "nside", "task.pixels"),
                pixel=_int(pixel, "pixel", "task.pixels"),
                posvar=_int(pixel, "posvar", "task.pixels"),
                ra=_float(pixel, "ra", "task.pixels"),
                dec=_float(pixel, "dec", "task.pixels"),
                vertex=None if vertex is None else Vertex(*_floats(vertex, 4, "task.pixels.vertex")),
                timeout_s=timeout_s,
                sent_at=sent_at,
                delivery=delivery + 1 if redelivered else delivery,
            )
        )
    return tasks


@dataclass(frozen=True)
class PixelOutcome:
    """What came of a task: a fit, a timeout notice or an error."""

    kind: OutcomeKind
    scan_id: str
    nside: int
    pixel: int
    posvar: int
    fit: PixelFit | None = None
    runtime: float = 0.0
    error: str = ""
    worker: str = ""
    sent_at: float = 0.0
    delivery: int = 1  # which delivery of the task this outcome is from

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.nside, self.pixel, self.posvar)

    @classmethod
    def for_task(cls, task: PixelTask, kind: OutcomeKind, **fields: Any) -> PixelOutcome:
        return cls(
            kind,
            task.scan_id,
            task.nside,
            task.pixel,
            task.posvar,
            sent_at=task.sent_at,
            delivery=task.delivery,
            **fields,
        )


def encode_outcomes(outcomes: Sequence[PixelOutcome]) -> bytes:
    """One outcome message of ``outcomes`` (at least one, all of one scan and one worker)."""
    if not outcomes:
        raise ValueError("outcomes: an outcome message needs at least one outcome")
    first = outcomes[0]
    for outcome in outcomes:
        if (outcome.scan_id, outcome.worker) != (first.scan_id, first.worker):
            raise ValueError(
                f"outcomes: scan {outcome.scan_id!r} worker {outcome.worker!r} in the message of scan "
                f"{first.scan_id!r} worker {first.worker!r}"
            )
    message = {
        "v": MESSAGE_VERSION,
        "scan_id": first.scan_id,
        "worker": first.worker,
        "outcomes": [
            {
                "kind": outcome.kind.value,
                "nside": outcome.nside,
                "pixel": outcome.pixel,
                "posvar": outcome.posvar,
                "fit": None
                if outcome.fit is None
                else [None if math.isnan(v) else v for v in outcome.fit.as_list()],
                "runtime": outcome.runtime,
                "error": outcome.error,
                "sent_at": outcome.sent_at,
                "delivery": outcome.delivery,
            }
            for outcome in outcomes
        ],
    }
    return json.dumps(message, separators=(",", ":")).encode()


def decode_outcomes(body: bytes) -> list[PixelOutcome]:
    """The outcomes of an outcome message."""
    data = _load(body, "outcome")
    _check_version(data, "outcome")
    scan_id = _str(data, "scan_id", "outcome")
    worker = str(data.get("worker", ""))
    items = data.get("outcomes")
    if not isinstance(items, list) or not items:
        raise MessageError(f"outcome.outcomes: expected a non-empty list of objects, got {items!r}")
    outcomes: list[PixelOutcome] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise MessageError(f"outcome.outcomes: expected objects, got {item!r}")
        try:
            kind = OutcomeKind(item.get("kind"))
        except ValueError:
            raise MessageError(
                f"outcome.outcomes.kind: expected fit, timeout or error, got {item.get('kind')!r}"
            ) from None
        raw_fit = item.get("fit")
        fit = None
        if raw_fit is not None:
            fit = PixelFit(*_floats(raw_fit, 7, "outcome.outcomes.fit", nullable=True))
        if kind is OutcomeKind.FIT and fit is None:
            raise MessageError("outcome.outcomes.fit: missing for an outcome of kind 'fit'")
        outcomes.append(
            PixelOutcome(
                kind=kind,
                scan_id=scan_id,
                nside=_int(item, "nside", "outcome.outcomes"),
                pixel=_int(item, "pixel", "outcome.outcomes"),
                posvar=_int(item, "posvar", "outcome.outcomes"),
                fit=fit,
                runtime=_float(item, "runtime", "outcome.outcomes"),
                error=str(item.get("error", "")),
                worker=worker,
                sent_at=_float(item, "sent_at", "outcome.outcomes"),
                delivery=_int(item, "delivery", "outcome.outcomes"),
            )
        )
    return outcomes


def _load(body: bytes, what: str) -> Mapping[str, JSONValue]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MessageError(f"{what}: not JSON ({exc}): {body[:80]!r}") from exc
    if not isinstance(data, Mapping):
        raise MessageError(f"{what}: expected a JSON object, got {body[:80]!r}")
    return data


def _check_version(data: Mapping[str, JSONValue], what: str) -> None:
    if data.get("v") != MESSAGE_VERSION:
        raise MessageError(f"{what}.v: expected message version {MESSAGE_VERSION}, got {data.get('v')!r}")


def _str(data: Mapping[str, JSONValue], key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MessageError(f"{what}.{key}: expected a non-empty string, got {value!r}")
    return value


def _int(data: Mapping[str, JSONValue], key: str, what: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MessageError(f"{what}.{key}: expected a non-negative integer, got {value!r}")
    return value


def _float(data: Mapping[str, JSONValue], key: str, what: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MessageError(f"{what}.{key}: expected a number, got {value!r}")
    return float(value)


def _floats(values: object, count: int, where: str, *, nullable: bool = False) -> list[float]:
    """``count`` numbers; with ``nullable``, null stands for NaN."""
    if not isinstance(values, list) or len(values) != count:
        raise MessageError(f"{where}: expected a list of {count} numbers, got {values!r}")
    out: list[float] = []
    for value in values:
        if value is None and nullable:
            out.append(math.nan)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise MessageError(f"{where}: expected numbers, got {values!r}")
        else:
            out.append(float(value))
    return out
