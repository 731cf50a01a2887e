"""Realistic synthetic realtime messages (for the demo, tests and benchmarks).

The events have the i3live layout of real IceCube messages (``value.version`` 2023a, online fits in
the detector frame, energy proxies) and opaque detector frames of a chosen size, so that they are as
large as real ones (100-500 kB). They are not physics simulations: the direction is drawn
uniformly on the sky and the frames are compressed random bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import random
import zlib
from dataclasses import dataclass
from typing import Any, Literal

Stream = Literal["GOLD", "BRONZE", "CASCADE"]

_FRAME_NAMES = ("GCDQp_packet", "I3Geometry", "I3Calibration", "I3DetectorStatus", "I3DAQFrame")


@dataclass(frozen=True)
class SimulatedAlert:
    run_id: int
    event_id: int
    event_time: dt.datetime
    zenith_rad: float
    azimuth_rad: float
    stream: Stream
    signalness: float
    far_per_year: float
    energy_tev: float


def draw_alert(rng: random.Random, run_id: int, event_id: int, event_time: dt.datetime) -> SimulatedAlert:
    stream: Stream = "GOLD" if rng.random() < 0.35 else "BRONZE"
    signalness = rng.uniform(0.5, 0.9) if stream == "GOLD" else rng.uniform(0.3, 0.5)
    return SimulatedAlert(
        run_id=run_id,
        event_id=event_id,
        event_time=event_time,
        zenith_rad=math.acos(rng.uniform(-0.2, 1.0)),  # mostly up-going tracks, as the selection favours
        azimuth_rad=rng.uniform(0.0, 2.0 * math.pi),
        stream=stream,
        signalness=round(signalness, 4),
        far_per_year=round(rng.uniform(0.1, 4.0), 4),
        energy_tev=round(rng.lognormvariate(math.log(150.0), 0.7), 2),
    )


def _frames(rng: random.Random, size_bytes: int) -> list[list[str]]:
    per_frame = max(size_bytes // len(_FRAME_NAMES), 16)
    frames = []
    for name in _FRAME_NAMES:
        # incompressible payload: its base64 is about 4/3 of the raw size
        blob = zlib.compress(rng.randbytes(int(per_frame * 0.75)), 1)
        frames.append([name, base64.b64encode(blob).decode()])
    return frames


def event_message(alert: SimulatedAlert, rng: random.Random, size_bytes: int = 200_000) -> dict[str, Any]:
    """An i3live realtime event message of about ``size_bytes`` bytes."""
    stamp = alert.event_time.astimezone(dt.UTC).replace(tzinfo=None)
    cr = rng.uniform(0.001, 0.006)
    return {
        "_id": f"{rng.getrandbits(56):014x}",
        "service": "PFOnlineWriter",
        "varname": "realtimeEventData",
        "prio": 2,
        "time": (stamp + dt.timedelta(seconds=25)).isoformat(sep=" "),
        "insert_time": (stamp + dt.timedelta(seconds=40)).isoformat(sep=" "),
        "value": {
            "version": "2023a",
            "streams": ["neutrino"],
            "zmqnotify": {"topics": ["neutrino"]},
            "data": {
                "run_id": alert.run_id,
                "event_id": alert.event_id,
                "unique_id": f"run{alert.run_id:08d}.evt{alert.event_id:012d}",
                "eventtime": stamp.isoformat(sep=" "),
                "nch": rng.randint(40, 400),
                "npulses": rng.randint(200, 2000),
                "qtot": round(rng.uniform(200.0, 5000.0), 2),
                "it_trig": False,
                "reco": {
                    "splinempe": {
                        "zen": round(alert.zenith_rad, 5),
                        "azi": round(alert.azimuth_rad, 5),
                        "cr_zen": round(cr, 5),
                        "cr_azi": round(cr * rng.uniform(0.7, 1.3), 5),
                        "fit_stat": 0,
                        "llh": round(rng.uniform(500, 1500), 3),
                        "rllh": round(rng.uniform(5.5, 7.5), 4),
                    },
                    "energy": {
                        "spline_mue": round(alert.energy_tev * 300.0, 3),
                        "truncated": round(alert.energy_tev * 700.0, 3),
                    },
                },
                "neutrino": {"bdt_up": round(rng.uniform(0.1, 0.3), 5), "bdt_down": None},
                "frames": _frames(rng, size_bytes),
            },
        },
    }


def envelope_message(alert: SimulatedAlert, rng: random.Random, size_bytes: int = 200_000) -> dict[str, Any]:
    """The alert envelope: classification + the event message."""
    return {
        "alert": {
            "stream": alert.stream,
            "signalness": alert.signalness,
            "far_per_year": alert.far_per_year,
            "energy_tev": alert.energy_tev,
            "revision": 0,
        },
        "event": event_message(alert, rng, size_bytes),
    }


def alert_batch(
    count: int,
    *,
    seed: int = 1,
    start: dt.datetime | None = None,
    size_bytes: int = 200_000,
    run_id: int = 140000,
) -> list[tuple[SimulatedAlert, bytes]]:
    """``count`` envelope messages (serialised) with distinct ids, a few minutes apart."""
    rng = random.Random(seed)
    when = start or dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
    out = []
    for index in range(count):
        alert = draw_alert(rng, run_id, 1_000_000 + index * 37, when + dt.timedelta(minutes=7 * index))
        out.append((alert, json.dumps(envelope_message(alert, rng, size_bytes)).encode()))
    return out
