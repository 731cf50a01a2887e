"""``dummy``: IceCube's stand-in reco for exercising the scan lifecycle, not physics.

Like the Skymap Scanner's ``dummy``, every pixel gets a random llh, vertex and time after an optional
sleep. Options (``reco_options``):

- ``delay_s`` (default 0): seconds to sleep per pixel (IceCube's dummy sleeps 1-3 s);
- ``cpu_work`` (default 0): units of fixed CPU work per pixel (one unit is one step of a pure-Python
  integer recurrence, ~0.05 us); gives benchmarks a realistic, fixed per-pixel CPU cost;
- ``seed`` (default none): makes every value a deterministic function of (seed, nside, pixel, variation),
  so two scans of the same event generate the same pixels;
- ``first_delivery_delay_s`` (default 0): extra sleep on a task's first delivery only, the way IceCube's
  ``crash_dummy`` exercises ``max_pixel_reco_time``: the first attempt overruns and is abandoned, the
  redelivered task succeeds;
- ``fail_deliveries`` (default 0): the fit raises on a task's first ``fail_deliveries`` deliveries, as
  ``crash_dummy``'s errors do.

Steering from outside: when the worker's environment names a gate directory
(``SKYSCAN_DUMMY_GATE_DIR``; ``skyscan serve`` sets it from its ``dummy_gate_dir`` setting), every fit
first passes the gate of :mod:`skyscan.recos.dummy_gate`, which holds each scan after N fits until
released: tests check a scan's partial state at a point of their choosing, whatever the machine's speed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from skybase.event import RealtimeEvent
from skyscan.recos.base import (
    PixelFit,
    PixelSeed,
    Reco,
    RecoKind,
    Setup,
    float_option,
    int_option,
    reject_unknown_options,
)
from skyscan.recos.dummy_gate import PixelGate

_OPTIONS = ("delay_s", "cpu_work", "seed", "first_delivery_delay_s", "fail_deliveries")


class DummyRecoError(RuntimeError):
    """The failure ``fail_deliveries`` asks for."""


def burn_cpu(units: int) -> int:
    """Fixed CPU work: ``units`` steps of a 31-bit linear congruential recurrence (holds the GIL)."""
    state = 12345
    for _ in range(units):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
    return state


class DummyReco(Reco):
    name: ClassVar[str] = "dummy"
    #: random values: exercises the lifecycle, localizes nothing
    kind: ClassVar[RecoKind] = "approximation"
    description: ClassVar[str] = (
        "random llh, vertex and time per pixel after a configurable delay (lifecycle tests)"
    )

    def __init__(
        self,
        *,
        delay_s: float,
        cpu_work: int,
        seed: int | None,
        first_delivery_delay_s: float,
        fail_deliveries: int,
        gate: PixelGate | None = None,
    ) -> None:
        self.delay_s = delay_s
        self.cpu_work = cpu_work
        self.seed = seed
        self.first_delivery_delay_s = first_delivery_delay_s
        self.fail_deliveries = fail_deliveries
        self.gate = gate

    @classmethod
    def prepare(cls, event: RealtimeEvent, options: Mapping[str, Any]) -> Setup:
        reject_unknown_options(cls.name, options, _OPTIONS)
        return {
            "delay_s": float_option(cls.name, options, "delay_s", 0.0),
            "cpu_work": int_option(cls.name, options, "cpu_work", 0),
            "seed": int_option(cls.name, options, "seed", None),
            "first_delivery_delay_s": float_option(cls.name, options, "first_delivery_delay_s", 0.0),
            "fail_deliveries": int_option(cls.name, options, "fail_deliveries", 0),
        }

    @classmethod
    def from_setup(cls, setup: Mapping[str, Any]) -> DummyReco:
        """The reco of ``setup``, with the gate this process's environment names (if any)."""
        return cls(
            delay_s=float(setup["delay_s"]),
            cpu_work=int(setup["cpu_work"]),
            seed=None if setup["seed"] is None else int(setup["seed"]),
            first_delivery_delay_s=float(setup["first_delivery_delay_s"]),
            fail_deliveries=int(setup.get("fail_deliveries", 0)),
            gate=PixelGate.from_environment(),
        )

    def fit(self, seed: PixelSeed) -> PixelFit:
        if self.gate is not None:
            self.gate.pass_through(seed.scan_id)
        sleep = self.delay_s + (self.first_delivery_delay_s if seed.delivery <= 1 else 0.0)
        if sleep > 0.0:
            time.sleep(sleep)
        if seed.delivery <= self.fail_deliveries:
            raise DummyRecoError(f"fail_deliveries={self.fail_deliveries}: failing delivery {seed.delivery}")
        if self.cpu_work:
            burn_cpu(self.cpu_work)
        if self.seed is None:
            rng = np.random.default_rng()
        else:
            rng = np.random.default_rng([self.seed, seed.nside, seed.index, seed.posvar])
        llh, e_in, e_tot = rng.uniform(0.0, 1000.0), rng.uniform(0.0, 1e5), rng.uniform(1e5, 1e6)
        x, y, z = rng.uniform(-500.0, 500.0, size=3)
        t = rng.uniform(1e4, 2e4)
        return PixelFit(float(llh), float(e_in), float(e_tot), float(x), float(y), float(z), float(t))
