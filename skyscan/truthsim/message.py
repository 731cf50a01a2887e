"""A truthsim event as an i3live realtime message (2023a), the format ``skyscan`` reads.

Frames: empty G, C, D (the nominal geometry: no difference to a baseline GCD); Q with ``I3SuperDST``
(every pulse), ``InIceDSTPulses`` (a mask of all of it) and ``QI3EventHeader``; P with
``SplitInIcePulses`` (a mask of all of ``InIceDSTPulses``), ``I3EventHeader``, ``LineFit`` (the
least-squares plane wave through the cleaned pulses: the first guess a reco may start from) and
``AlertShortFollowupMsg`` (the JSON without frames). ``value.data`` carries ``nch``/``npulses``/``qtot``
after the online cleaning of the decoded pulses, ``reco.linefit``, and ``simulation``: the truth
(zenith/azimuth the muon comes from, energy at closest approach, the point and time of closest
approach, the per-event ice scales, the losses), the seed, index and settings, ``generator:
"truthsim"``. ``skyscan calibrate`` reads the same ``simulation`` keys as for ``skyscan simulate``.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np

from skybase.i3 import writer
from skybase.i3.geometry import Geometry
from skybase.i3.particle import EventHeader, I3Time, Particle
from skybase.i3.pulses import PulseSeries
from skybase.json_types import JSONObject
from skyscan.truthsim.event import SimulatedPulses, TruthSimSettings

RUN_ID = 998_000
EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
READOUT_US = 20


def plane_wave_fit(pulses: PulseSeries, geometry: Geometry) -> Particle:
    """Least-squares r = r0 + v (t - t0) through the pulses' DOMs (IceCube's LineFit idea)."""
    xyz, _ = geometry.positions(pulses.string, pulses.om)
    t = pulses.time
    t0 = float(t.mean())
    r0 = xyz.mean(axis=0)
    dt_ = t - t0
    denominator = float((dt_**2).sum())
    v = ((xyz - r0) * dt_[:, None]).sum(axis=0) / denominator if denominator > 0.0 else np.zeros(3)
    speed = float(np.linalg.norm(v))
    d = v / speed if speed > 0.0 else np.array([0.0, 0.0, -1.0])
    zenith = math.acos(max(-1.0, min(1.0, -float(d[2]))))
    azimuth = math.atan2(-float(d[1]), -float(d[0])) % (2.0 * math.pi)
    x, y, z = (float(c) for c in r0)
    return Particle(
        0, 0, 0, "InfiniteTrack", "OK", x, y, z, zenith, azimuth, t0, math.nan, math.nan, speed, 0
    )


def _i3time(when: dt.datetime) -> I3Time:
    year_start = dt.datetime(when.year, 1, 1, tzinfo=dt.UTC)
    return I3Time(when.year, round((when - year_start).total_seconds() * 1e10))


def event_message(
    event: SimulatedPulses,
    seed: int,
    index: int,
    geometry: Geometry,
    settings: TruthSimSettings,
    when: dt.datetime,
) -> JSONObject:
    """The realtime message of one simulated event."""
    event_id = index + 1
    fit = plane_wave_fit(event.cleaned.pulses, geometry)
    header = EventHeader(
        RUN_ID, 0, event_id, 0, "InIceSplit", 20, _i3time(when), _i3time(when + dt.timedelta(microseconds=20))
    )
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f")
    simulation = event.truth.as_record()
    simulation.update(
        {
            "generator": "truthsim",
            "seed": seed,
            "index": index,
            "tries": event.tries,
            "photons_tracked": event.photons_tracked,
            "expected_pe": round(event.expected_pe, 3),
            "settings": settings.as_record(),
        }
    )
    data: JSONObject = {
        "unique_id": f"run{RUN_ID:08d}.evt{event_id:012d}",
        "eventtime": stamp,
        "event_id": event_id,
        "run_id": RUN_ID,
        "nch": event.cleaned.nch,
        "npulses": event.cleaned.npulses,
        "qtot": round(event.cleaned.qtot, 5),
        "reco": {"linefit": {"zen": round(fit.zenith, 5), "azi": round(fit.azimuth, 5)}},
        "simulation": simulation,
    }
    data["frames"] = _frames(event, header, fit, json.dumps(data))
    return {
        "_id": f"truthsim{seed:06d}{index:08d}",
        "service": "skyscan-truthsim",
        "varname": "realtimeEventData",
        "value": {"streams": ["neutrino"], "version": "2023a", "data": data},
        "prio": 2,
        "time": stamp,
        "insert_time": stamp,
    }


def _frames(
    event: SimulatedPulses, header: EventHeader, fit: Particle, short_message: str
) -> list[list[str]]:
    """The G, C, D, Q and P frames of the message, as i3live writes them."""
    everything = np.ones(len(event.pulses), dtype=bool)
    q_objects = {
        "I3SuperDST": (writer.TYPE_NAMES["I3SuperDST"], event.superdst),
        "InIceDSTPulses": (
            writer.TYPE_NAMES["I3RecoPulseSeriesMapMask"],
            writer.mask_bytes("I3SuperDST", everything, event.pulses),
        ),
        "QI3EventHeader": (writer.TYPE_NAMES["I3EventHeader"], writer.event_header_bytes(header)),
    }
    p_objects = {
        "SplitInIcePulses": (
            writer.TYPE_NAMES["I3RecoPulseSeriesMapMask"],
            writer.mask_bytes("InIceDSTPulses", everything, event.pulses),
        ),
        "I3EventHeader": (writer.TYPE_NAMES["I3EventHeader"], writer.event_header_bytes(header)),
        "LineFit": (writer.TYPE_NAMES["I3Particle"], writer.particle_bytes(fit)),
        "AlertShortFollowupMsg": (writer.TYPE_NAMES["I3String"], writer.string_bytes(short_message)),
    }
    return [
        writer.frame_entry("G", writer.frame_bytes("G", {})),
        writer.frame_entry("C", writer.frame_bytes("C", {})),
        writer.frame_entry("D", writer.frame_bytes("D", {})),
        writer.frame_entry("Q", writer.frame_bytes("Q", q_objects)),
        writer.frame_entry("P", writer.frame_bytes("P", p_objects)),
    ]


def event_time(seed: int, index: int) -> dt.datetime:
    """A reproducible event time in 2025 (from the seed and index alone)."""
    rng = np.random.default_rng([seed, index, 99])
    return EPOCH + dt.timedelta(seconds=float(rng.uniform(0.0, 365.0 * 86400.0)))
