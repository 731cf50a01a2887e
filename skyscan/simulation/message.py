"""Simulated events as realtime messages (2023a format): the same frames and JSON the reader reads.

Frames: empty G, C and D frames (the simulation uses the shipped nominal geometry, so there is no
difference to a baseline GCD); a Q frame with ``I3SuperDST`` (all pulses), ``InIceDSTPulses`` (a mask
selecting all of it) and an ``I3EventHeader``; a P frame with ``SplitInIcePulses`` (a mask on
``InIceDSTPulses``), the ``I3EventHeader``, the first-guess ``LineFit`` (an ``I3Particle``: the
least-squares plane wave of the cleaned pulses, the simulation's stand-in for an online fit) and
``AlertShortFollowupMsg`` (the message's JSON without frames, as IceCube's P frames carry it).
``value.data`` has ``run_id``, ``event_id``, ``eventtime``, ``nch``/``npulses``/``qtot`` after the online
cleaning, ``reco.linefit`` and a ``simulation`` object with the truth and the seed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from skybase.i3 import writer
from skybase.i3.cleaning import clean
from skybase.i3.frame import parse_frame
from skybase.i3.geometry import Geometry, IceTable
from skybase.i3.objects import decode_frame
from skybase.i3.particle import EventHeader, I3Time, Particle
from skybase.i3.pulses import PulseSeries
from skyscan.simulation.light import T0_NS, Muon, random_muon, simulate_pulses

SIM_RUN_ID = 999_000
MIN_CLEANED_DOMS = 20  # a Bronze-like selection: at least this many DOMs after the online cleaning
ENERGY_RANGE_LOG10_GEV = (4.0, 6.0)
IMPACT_RADIUS_M = 400.0
SIM_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SimulatedEvent:
    message: dict[str, Any]
    muon: Muon
    tries: int  # muons drawn until one passed the selection


def line_fit(pulses: PulseSeries, geometry: Geometry) -> Particle:
    """Least-squares plane wave r = r0 + v (t - t_mean) through the pulses (IceCube's LineFit idea)."""
    xyz, _ = geometry.positions(pulses.string, pulses.om)
    t = pulses.time
    tm = t.mean()
    rm = xyz.mean(axis=0)
    v = ((xyz - rm) * (t - tm)[:, None]).sum(axis=0) / max(float(((t - tm) ** 2).sum()), 1e-9)
    speed = float(np.linalg.norm(v))
    d = v / speed if speed > 0 else np.array([0.0, 0.0, -1.0])
    zenith = math.acos(max(-1.0, min(1.0, -float(d[2]))))
    azimuth = math.atan2(-float(d[1]), -float(d[0])) % (2 * math.pi)
    return Particle(
        0,
        0,
        0,
        "InfiniteTrack",
        "OK",
        float(rm[0]),
        float(rm[1]),
        float(rm[2]),
        zenith,
        azimuth,
        float(tm),
        math.nan,
        math.nan,
        speed,
        0,
    )


def _decoded(superdst: bytes) -> PulseSeries:
    frame = parse_frame(writer.frame_bytes("Q", {"I3SuperDST": ("I3SuperDST", superdst)}), "Q frame")
    pulses = decode_frame(frame, "Q frame").objects["I3SuperDST"]
    assert isinstance(pulses, PulseSeries)
    return pulses


def _i3time(when: dt.datetime) -> I3Time:
    start = dt.datetime(when.year, 1, 1, tzinfo=dt.UTC)
    return I3Time(when.year, round((when - start).total_seconds() * 1e10))


def simulate_event(
    seed: int, index: int, geometry: Geometry | None = None, ice: IceTable | None = None
) -> SimulatedEvent:
    """Event ``index`` of the seeded set ``seed``: reproducible from (seed, index) alone."""
    geometry = geometry or Geometry.load()
    ice = ice or IceTable.load()
    rng = np.random.default_rng([seed, index])
    tries = 0
    while True:
        tries += 1
        muon = random_muon(rng, ENERGY_RANGE_LOG10_GEV, IMPACT_RADIUS_M)
        pulses = simulate_pulses(muon, rng, geometry, ice)
        superdst = writer.superdst_bytes(pulses)
        # count what the reader will read: the pulses as I3SuperDST carries them (charges discretised)
        cleaned = clean(_decoded(superdst), geometry)
        if cleaned.nch >= MIN_CLEANED_DOMS:
            break
    when = SIM_EPOCH + dt.timedelta(seconds=float(rng.uniform(0.0, 365.0 * 86400.0)))
    event_id = index + 1
    fit = line_fit(cleaned.pulses, geometry)
    end = when + dt.timedelta(microseconds=20)
    header = EventHeader(SIM_RUN_ID, 0, event_id, 0, "InIceSplit", 20, _i3time(when), _i3time(end))
    data: dict[str, Any] = {
        "unique_id": f"run{SIM_RUN_ID:08d}.evt{event_id:012d}",
        "eventtime": when.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "event_id": event_id,
        "run_id": SIM_RUN_ID,
        "nch": cleaned.nch,
        "npulses": cleaned.npulses,
        "qtot": round(cleaned.qtot, 2),
        "reco": {"linefit": {"zen": round(fit.zenith, 5), "azi": round(fit.azimuth, 5)}},
        "simulation": {
            "seed": seed,
            "index": index,
            "zenith": muon.zenith,
            "azimuth": muon.azimuth,
            "energy_gev": muon.energy_gev,
            "point_m": muon.point.tolist(),
            "time_ns": T0_NS,
            "tries": tries,
        },
    }
    short = json.dumps(data)
    all_pulses = np.ones(len(pulses), dtype=bool)
    q_objects = {
        "I3SuperDST": (writer.TYPE_NAMES["I3SuperDST"], superdst),
        "InIceDSTPulses": (
            writer.TYPE_NAMES["I3RecoPulseSeriesMapMask"],
            writer.mask_bytes("I3SuperDST", all_pulses, pulses),
        ),
        "QI3EventHeader": (writer.TYPE_NAMES["I3EventHeader"], writer.event_header_bytes(header)),
    }
    p_objects = {
        "SplitInIcePulses": (
            writer.TYPE_NAMES["I3RecoPulseSeriesMapMask"],
            writer.mask_bytes("InIceDSTPulses", all_pulses, pulses),
        ),
        "I3EventHeader": (writer.TYPE_NAMES["I3EventHeader"], writer.event_header_bytes(header)),
        "LineFit": (writer.TYPE_NAMES["I3Particle"], writer.particle_bytes(fit)),
        "AlertShortFollowupMsg": (writer.TYPE_NAMES["I3String"], writer.string_bytes(short)),
    }
    data["frames"] = [
        writer.frame_entry("G", writer.frame_bytes("G", {})),
        writer.frame_entry("C", writer.frame_bytes("C", {})),
        writer.frame_entry("D", writer.frame_bytes("D", {})),
        writer.frame_entry("Q", writer.frame_bytes("Q", q_objects)),
        writer.frame_entry("P", writer.frame_bytes("P", p_objects)),
    ]
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f")
    message = {
        "_id": f"sim{seed:06d}{index:08d}",
        "service": "skyscan-simulate",
        "varname": "realtimeEventData",
        "value": {"streams": ["neutrino"], "version": "2023a", "data": data},
        "prio": 2,
        "time": stamp,
        "insert_time": stamp,
    }
    return SimulatedEvent(message, muon, tries)
