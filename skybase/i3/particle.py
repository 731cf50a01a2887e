"""``I3Particle`` (class versions 0-5), ``I3Position``, ``I3Direction``, ``I3EventHeader``, ``I3Time``.

Field order and types follow IceTray's serialisers (learnt from its public source): a particle is its
minor id (int32), major id (uint64, version > 1), PDG code (int32, version >= 5; older versions store a
type code this reader does not translate), shape and fit status (int32 enums), position and direction
(objects), time, energy, length, speed (doubles), location type (int32, version > 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from skybase.i3.archive import ArchiveReader

#: I3Particle::FitStatus values
FIT_STATUS = {
    -1: "NotSet",
    0: "OK",
    10: "GeneralFailure",
    20: "InsufficientHits",
    30: "FailedToConverge",
    40: "MissingSeed",
    50: "InsufficientQuality",
}
#: I3Particle::ParticleShape values
SHAPES = {
    0: "Null",
    10: "Primary",
    20: "TopShower",
    30: "Cascade",
    31: "CascadeSegment",
    40: "InfiniteTrack",
    50: "StartingTrack",
    60: "StoppingTrack",
    70: "ContainedTrack",
    80: "MCTrack",
    81: "MCTrackSegment",
    82: "MCTrackSegmentSlow",
    90: "Dark",
}


@dataclass(frozen=True)
class Particle:
    """A reconstructed (or simulated) particle; direction is where it travels TO (zenith/azimuth in
    IceTray's convention are of the direction it came FROM)."""

    minor_id: int
    major_id: int
    pdg_encoding: int
    shape: str
    fit_status: str
    x: float
    y: float
    z: float
    zenith: float
    azimuth: float
    time: float
    energy: float
    length: float
    speed: float
    location_type: int

    @property
    def ok(self) -> bool:
        return self.fit_status == "OK"

    def direction_vector(self) -> tuple[float, float, float]:
        """Unit vector of the direction of travel (opposite to the (zenith, azimuth) it came from)."""
        st = math.sin(self.zenith)
        return (-st * math.cos(self.azimuth), -st * math.sin(self.azimuth), -math.cos(self.zenith))


def read_position(reader: ArchiveReader) -> tuple[float, float, float]:
    reader.class_info("I3Position")
    reader.class_info("I3FrameObject")
    return reader.f64("X"), reader.f64("Y"), reader.f64("Z")


def read_direction(reader: ArchiveReader) -> tuple[float, float]:
    reader.class_info("I3Direction")
    reader.class_info("I3FrameObject")
    return reader.f64("Zen"), reader.f64("Azi")


def read_particle(reader: ArchiveReader, version: int) -> Particle:
    if version > 5:
        raise reader.fail(f"I3Particle class version {version} (versions up to 5 are read)")
    reader.class_info("I3FrameObject")
    minor = reader.i32("ID")
    major = reader.u64("MajorID") if version > 1 else 0
    if version == 0:
        reader.i32("parentID")
        reader.i32("primaryID")
    pdg = reader.i32("pdgEncoding") if version >= 5 else 0
    if version < 5:
        reader.i32("type")
    shape = reader.i32("shape")
    status = reader.i32("fitStatus")
    x, y, z = read_position(reader)
    zenith, azimuth = read_direction(reader)
    time = reader.f64("time")
    energy = reader.f64("energy")
    length = reader.f64("length")
    speed = reader.f64("speed")
    if version == 0:
        reader.boolean("composite")
    location = reader.i32("LocationType") if version > 0 else 0
    if version == 4:
        reader.f64("bjorkenx")
        reader.f64("bjorkeny")
    return Particle(
        minor,
        major,
        pdg,
        SHAPES.get(shape, str(shape)),
        FIT_STATUS.get(status, str(status)),
        x,
        y,
        z,
        zenith,
        azimuth,
        time,
        energy,
        length,
        speed,
        location,
    )


@dataclass(frozen=True)
class I3Time:
    """IceTray's time: the year and the tenths of nanoseconds since its start (UTC)."""

    year: int
    daq_time: int  # 0.1 ns since the start of ``year``


@dataclass(frozen=True)
class EventHeader:
    run_id: int
    sub_run_id: int
    event_id: int
    sub_event_id: int
    sub_event_stream: str
    state: int
    start_time: I3Time
    end_time: I3Time


def read_time(reader: ArchiveReader) -> I3Time:
    reader.class_info("I3Time")
    reader.class_info("I3FrameObject")
    return I3Time(reader.i32("Year"), reader.i64("DaqTime"))


def read_event_header(reader: ArchiveReader, version: int) -> EventHeader:
    if version > 3:
        raise reader.fail(f"I3EventHeader class version {version} (versions up to 3 are read)")
    reader.class_info("I3FrameObject")
    run = reader.u32("RunID")
    sub_run = reader.u32("SubRunID") if version > 0 else 0
    event = reader.u32("EventID")
    state = reader.i32("State") if version > 1 else 0
    sub_event, stream = (reader.u32("SubEventID"), reader.text("SubEventStream")) if version > 2 else (0, "")
    start = read_time(reader)
    end = read_time(reader)
    return EventHeader(run, sub_run, event, sub_event, stream, state, start, end)
