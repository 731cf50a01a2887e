"""The two messages between a scan and its pixel workers: a pixel task and its outcome (JSON).

IceCube's scanner ships pickled IceTray frames; these are skyscan's own, plain JSON so any worker on
any machine can read them (``v`` is the format version)::

    task    {"v": 1, "scan_id", "reco_algo", "setup": {...}, "nside", "pixel", "posvar", "ra", "dec",
             "vertex": [x, y, z, t] | null, "timeout_s": float | null, "sent_at": epoch}
    outcome {"v": 1, "kind": "fit" | "timeout" | "error", "scan_id", "nside", "pixel", "posvar",
             "fit": [llh, E_in, E_tot, X, Y, Z, T] | null (NaN as null), "runtime": s, "error": str,
             "worker": str, "sent_at": epoch, "delivery": n}

A ``timeout`` outcome is a notice: the worker abandoned the fit after ``timeout_s`` and gave the task
back for redelivery. An ``error`` outcome says the fit raised; the task is not redelivered by the worker.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from skyscan.recos.base import PixelFit, PixelSeed, Vertex

MESSAGE_VERSION = 1


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
    setup: Mapping[str, Any]
    nside: int
    pixel: int
    posvar: int
    ra: float
    dec: float
    vertex: Vertex | None = None
    timeout_s: float | None = None
    sent_at: float = 0.0
    delivery: int = 1  # not sent: each transport counts deliveries itself

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.nside, self.pixel, self.posvar)

    def seed(self) -> PixelSeed:
        return PixelSeed(self.nside, self.pixel, self.ra, self.dec, self.posvar, self.vertex, self.delivery)

    def redelivered(self) -> PixelTask:
        return replace(self, delivery=self.delivery + 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": MESSAGE_VERSION,
            "scan_id": self.scan_id,
            "reco_algo": self.reco_algo,
            "setup": dict(self.setup),
            "nside": self.nside,
            "pixel": self.pixel,
            "posvar": self.posvar,
            "ra": self.ra,
            "dec": self.dec,
            "vertex": None
            if self.vertex is None
            else [self.vertex.x, self.vertex.y, self.vertex.z, self.vertex.t],
            "timeout_s": self.timeout_s,
            "sent_at": self.sent_at,
        }

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, delivery: int = 1) -> PixelTask:
        _check_version(data, "task")
        vertex = data.get("vertex")
        timeout = data.get("timeout_s")
        setup = data.get("setup")
        if not isinstance(setup, Mapping):
            raise MessageError(f"task.setup: expected an object, got {setup!r}")
        return cls(
            scan_id=_str(data, "scan_id", "task"),
            reco_algo=_str(data, "reco_algo", "task"),
            setup=setup,
            nside=_int(data, "nside", "task"),
            pixel=_int(data, "pixel", "task"),
            posvar=_int(data, "posvar", "task"),
            ra=_float(data, "ra", "task"),
            dec=_float(data, "dec", "task"),
            vertex=None if vertex is None else Vertex(*_floats(vertex, 4, "task.vertex")),
            timeout_s=None if timeout is None else _float(data, "timeout_s", "task"),
            sent_at=_float(data, "sent_at", "task"),
            delivery=delivery,
        )

    @classmethod
    def decode(cls, body: bytes, *, delivery: int = 1) -> PixelTask:
        return cls.from_json(_load(body, "task"), delivery=delivery)


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

    def to_json(self) -> dict[str, Any]:
        fit = None if self.fit is None else [None if math.isnan(v) else v for v in self.fit.as_list()]
        return {
            "v": MESSAGE_VERSION,
            "kind": self.kind.value,
            "scan_id": self.scan_id,
            "nside": self.nside,
            "pixel": self.pixel,
            "posvar": self.posvar,
            "fit": fit,
            "runtime": self.runtime,
            "error": self.error,
            "worker": self.worker,
            "sent_at": self.sent_at,
            "delivery": self.delivery,
        }

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PixelOutcome:
        _check_version(data, "outcome")
        try:
            kind = OutcomeKind(data.get("kind"))
        except ValueError:
            raise MessageError(
                f"outcome.kind: expected fit, timeout or error, got {data.get('kind')!r}"
            ) from None
        raw_fit = data.get("fit")
        fit = None
        if raw_fit is not None:
            fit = PixelFit(*_floats(raw_fit, 7, "outcome.fit", nullable=True))
        if kind is OutcomeKind.FIT and fit is None:
            raise MessageError("outcome.fit: missing for an outcome of kind 'fit'")
        return cls(
            kind=kind,
            scan_id=_str(data, "scan_id", "outcome"),
            nside=_int(data, "nside", "outcome"),
            pixel=_int(data, "pixel", "outcome"),
            posvar=_int(data, "posvar", "outcome"),
            fit=fit,
            runtime=_float(data, "runtime", "outcome"),
            error=str(data.get("error", "")),
            worker=str(data.get("worker", "")),
            sent_at=_float(data, "sent_at", "outcome"),
            delivery=_int(data, "delivery", "outcome"),
        )

    @classmethod
    def decode(cls, body: bytes) -> PixelOutcome:
        return cls.from_json(_load(body, "outcome"))


def _load(body: bytes, what: str) -> Mapping[str, Any]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MessageError(f"{what}: not JSON ({exc}): {body[:80]!r}") from exc
    if not isinstance(data, Mapping):
        raise MessageError(f"{what}: expected a JSON object, got {body[:80]!r}")
    return data


def _check_version(data: Mapping[str, Any], what: str) -> None:
    if data.get("v") != MESSAGE_VERSION:
        raise MessageError(f"{what}.v: expected message version {MESSAGE_VERSION}, got {data.get('v')!r}")


def _str(data: Mapping[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MessageError(f"{what}.{key}: expected a non-empty string, got {value!r}")
    return value


def _int(data: Mapping[str, Any], key: str, what: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MessageError(f"{what}.{key}: expected a non-negative integer, got {value!r}")
    return value


def _float(data: Mapping[str, Any], key: str, what: str) -> float:
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
