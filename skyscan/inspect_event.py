"""``skyscan event inspect``: what a realtime message's IceTray frames hold, beside its JSON.

Reports, as one JSON document: every frame (stream, keys, CRC-32C verified), the types this reader does
not decode, the split pulses and the cleaned pulses (counts, DOMs, charge, compared with the message's
``npulses`` / ``nch`` / ``qtot``), and every online fit decoded from the P frame (zenith, azimuth, vertex,
time, status) beside the message's ``value.data.reco``. With ``--png`` it draws the event: the IC86
strings seen from above and the DOMs along the track's horizontal direction against depth, hit DOMs
sized by charge and coloured by the time of their first pulse, the online SplineMPE track drawn in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from skybase.i3.cleaning import CleanedPulses, clean
from skybase.i3.event import EventFrames
from skybase.i3.geometry import Geometry
from skybase.i3.legacy_message import current_form, is_legacy
from skybase.i3.particle import Particle
from skybase.i3.pulses import PulseSeries
from skybase.json_types import JSONObject, JSONValue


def _pulse_summary(pulses: PulseSeries) -> JSONObject:
    return {
        "npulses": len(pulses),
        "nch": pulses.n_doms,
        "qtot": round(pulses.total_charge(), 3),
        "hlc_pulses": int(pulses.hlc.sum()),
        "time_range_ns": [float(pulses.time.min()), float(pulses.time.max())] if len(pulses) else None,
    }


def _particle(p: Particle) -> JSONObject:
    return {
        "zenith": p.zenith,
        "azimuth": p.azimuth,
        "x": p.x,
        "y": p.y,
        "z": p.z,
        "time": p.time,
        "energy": None if math.isnan(p.energy) else p.energy,
        "shape": p.shape,
        "fit_status": p.fit_status,
    }


#: IceCube's i3live messages write every number with at most 5 decimals (qtot 2745.52501, zen 1.51078):
#: a count matches when the decoded one, rounded so, equals the message's
MESSAGE_DECIMALS = 5


def matches_message(cleaned: CleanedPulses, data: Mapping[str, JSONValue]) -> bool | None:
    """Whether the cleaned pulses give the message's ``npulses``, ``nch`` and ``qtot`` as IceCube writes them
    (None when the message states none of them: the legacy HESE message)."""
    stated = {k: data.get(k) for k in ("npulses", "nch", "qtot")}
    if all(v is None for v in stated.values()):
        return None
    return (
        cleaned.npulses == stated["npulses"]
        and cleaned.nch == stated["nch"]
        and isinstance(stated["qtot"], int | float)
        and round(cleaned.qtot, MESSAGE_DECIMALS) == stated["qtot"]
    )


def inspect_message(message: Mapping[str, JSONValue]) -> tuple[JSONObject, EventFrames, CleanedPulses]:
    legacy = is_legacy(message)
    message = current_form(message)
    data = message["value"]["data"]
    frames = EventFrames.from_message(message)
    split = frames.split_pulses()
    cleaned = clean(split, Geometry.load())
    geometry = Geometry.load()
    _, interpolated = geometry.positions(cleaned.pulses.string, cleaned.pulses.om)
    report: JSONObject = {
        "run_id": data.get("run_id"),
        "event_id": data.get("event_id"),
        "version": message["value"].get("version"),
        "legacy_message": legacy,  # value.data was the frame list: ids, time and fits read from the frames
        "frames": [
            {
                "stream": letter,
                "keys": len(frame.raw.slots) if frame.raw else 0,
                "crc32c": f"{frame.raw.checksum:#010x}" if frame.raw else None,
                "crc_verified": True,
            }
            for letter, frame in frames.frames.items()
        ],
        "undecoded_types": frames.unknown(),
        "split_pulses": {"key": frames.split_pulses_key(), **_pulse_summary(split)},
        "cleaned_pulses": {
            **_pulse_summary(cleaned.pulses),
            "on_interpolated_doms": int(interpolated.sum()),
            "message": {k: data.get(k) for k in ("npulses", "nch", "qtot")},
            "matches_message": matches_message(cleaned, data),
        },
        "online_fits": {key: _particle(p) for key, p in sorted(frames.particles().items())},
        "message_reco": {
            key: {k: v for k, v in value.items() if k in ("zen", "azi", "cr_zen", "cr_azi", "name")}
            for key, value in (data.get("reco") or {}).items()
            if isinstance(value, Mapping) and "zen" in value
        },
    }
    return report, frames, cleaned


def draw_event(frames: EventFrames, cleaned: CleanedPulses, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    geometry = Geometry.load()
    strings, oms = geometry.all_doms()
    all_xyz, _ = geometry.positions(strings, oms)
    pulses = cleaned.pulses
    starts = pulses.dom_starts()[:-1]
    charge = np.add.reduceat(pulses.charge.astype(np.float64), starts)
    t_first = np.minimum.reduceat(pulses.time, starts)
    xyz, _ = geometry.positions(pulses.string[starts], pulses.om[starts])
    try:
        track: Particle | None = frames.splinempe()
    except ValueError:
        track = None
    fig, (top, side) = plt.subplots(1, 2, figsize=(13, 6), gridspec_kw={"width_ratios": [1, 1.1]})
    sizes = 8.0 + 40.0 * np.sqrt(charge)
    top.scatter(all_xyz[::60, 0], all_xyz[::60, 1], s=6, c="0.8", zorder=1)
    top.scatter(
        xyz[:, 0], xyz[:, 1], s=sizes, c=t_first, cmap="viridis_r", edgecolors="k", linewidths=0.3, zorder=2
    )
    # horizontal axis of the side view: the track's horizontal direction (x if vertical or unknown)
    axis = np.array([1.0, 0.0])
    if track is not None:
        d = np.array(track.direction_vector())
        if math.hypot(d[0], d[1]) > 0.05:
            axis = d[:2] / math.hypot(d[0], d[1])
        s = np.linspace(-1000, 1000, 2)
        top.plot(track.x + s * d[0], track.y + s * d[1], "r-", lw=1, label="online SplineMPE")
        along = (track.x + s * d[0]) * axis[0] + (track.y + s * d[1]) * axis[1]
        side.plot(along, track.z + s * d[2], "r-", lw=1)
        top.legend(loc="upper left", fontsize=8)
    top.set(
        xlabel="x (m)", ylabel="y (m)", title="top view", xlim=(-650, 650), ylim=(-650, 650), aspect="equal"
    )
    side.scatter(all_xyz[:, 0] * axis[0] + all_xyz[:, 1] * axis[1], all_xyz[:, 2], s=1, c="0.85", zorder=1)
    points = side.scatter(
        xyz[:, 0] * axis[0] + xyz[:, 1] * axis[1],
        xyz[:, 2],
        s=sizes,
        c=t_first,
        cmap="viridis_r",
        edgecolors="k",
        linewidths=0.3,
        zorder=2,
    )
    side.set(
        xlabel="distance along the track's horizontal direction (m)",
        ylabel="z (m)",
        title="side view",
        xlim=(-700, 700),
        ylim=(-550, 550),
    )
    fig.colorbar(points, ax=side, label="time of the first pulse (ns)")
    fig.suptitle(
        f"{title}: {cleaned.npulses} pulses on {cleaned.nch} DOMs, {cleaned.qtot:.1f} PE (size ~ sqrt charge)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
