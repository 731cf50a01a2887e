"""IceCube's legacy realtime message (HESE/EHE, 2016-2019): ``value.data`` is the list of frames itself.

The current message (``value.version`` 2021a and later) carries the event's identity, time and online
fits in plain JSON beside ``value.data.frames``. The legacy one carries nothing but the frames
(``value.data = [["G", ...], ["C", ...], ["D", ...], ["Q", ...], ["P", ...]]``), so everything is read
from them, as IceCube's Skymap Scanner reads it (its ``extract_json_message``: the frame packet from the
message, the ids and time from the P frame's ``I3EventHeader``, the event type from the P frame's keys).

:func:`current_form` rewrites a legacy message into the current shape, so one reader serves both:

- ``value.data.run_id``, ``event_id`` and ``eventtime`` from ``I3EventHeader`` (its start time, UTC);
- ``value.data.reco.splinempe`` (``zen``, ``azi``) from the P frame's online SplineMPE, when it has one
  (2017 on); no uncertainties (the fit parameters are not in a form this reader decodes);
- ``value.streams``: the event type as the scanner names it (``HESE`` when ``HESE_llhratio`` is present,
  ``EHE`` for ``PoleEHEOphelia_ImpLF``, ``ESTRES`` for ``Estres_p_miss``, else the JSON keys of
  ``AlertShortFollowupMsg``), else the message's ``zmqnotify`` topic;
- ``value.data.frames``: the frame list, untouched; ``value.version``: ``legacy-frames``.

A message in the current shape is returned as it is.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from skybase.i3.event import SPLINEMPE_KEYS, EventFrames, EventFramesError
from skybase.i3.particle import I3Time

#: what ``value.version`` says after :func:`current_form`
LEGACY_VERSION = "legacy-frames"

#: leap seconds inserted at the end of 30 June (IERS Bulletin C) since the detector's first string: IceTray's
#: DAQ clock counts SI seconds from 1 January, so a time after one reads one second late in UTC. (Leap
#: seconds at the end of 31 December end the year and shift nothing inside it.)
_JUNE_LEAP_SECONDS = {year: dt.datetime(year, 7, 1, tzinfo=dt.UTC) for year in (2012, 2015)}

#: P-frame keys that name the event type, in the order IceCube's scanner tests them
_TYPE_KEYS = (("HESE_llhratio", "HESE"), ("Estres_p_miss", "ESTRES"), ("PoleEHEOphelia_ImpLF", "EHE"))
_ALERT_KEYS = (("hese", "HESE"), ("ehe", "EHE"), ("neutrino", "neutrino"), ("estres", "ESTRES"))


def is_legacy(message: Mapping[str, Any]) -> bool:
    """Whether ``value.data`` is the frame list (the legacy message)."""
    value = message.get("value")
    return isinstance(value, Mapping) and isinstance(value.get("data"), list)


def utc_of(time: I3Time) -> dt.datetime:
    """An ``I3Time`` (tenths of ns since 1 January of its year, SI seconds) as an aware UTC datetime."""
    start = dt.datetime(time.year, 1, 1, tzinfo=dt.UTC)
    moment = start + dt.timedelta(microseconds=time.daq_time // 10_000)
    leap = _JUNE_LEAP_SECONDS.get(time.year)
    if leap is not None and moment >= leap + dt.timedelta(seconds=1):
        moment -= dt.timedelta(seconds=1)
    return moment


def _present(frames: EventFrames, key: str) -> bool:
    physics = frames.frames.get("P")
    return physics is not None and (key in physics.objects or key in physics.unknown)


def _event_type(frames: EventFrames) -> str | None:
    for key, name in _TYPE_KEYS:
        if _present(frames, key):
            return name
    if frames.has("AlertShortFollowupMsg"):
        text = frames.lookup("AlertShortFollowupMsg")
        try:
            keys = json.loads(text).keys() if isinstance(text, str) else ()
        except (json.JSONDecodeError, AttributeError):
            keys = ()
        for key, name in _ALERT_KEYS:
            if key in keys:
                return name
    return None


def _online_fit(frames: EventFrames) -> dict[str, float] | None:
    for key in SPLINEMPE_KEYS:
        if frames.has(key):
            particle = frames.particle(key)
            return {"zen": particle.zenith, "azi": particle.azimuth}
    return None


def current_form(message: Mapping[str, Any]) -> Mapping[str, Any]:
    """The message in the current shape (a legacy one rewritten from its frames; others as they are).

    Raises :class:`~skybase.i3.event.EventFramesError` (a ``ValueError``) naming what the frames lack."""
    if not is_legacy(message):
        return message
    value = message["value"]
    frames = EventFrames.from_entries(value["data"])
    if "P" not in frames.frames:
        raise EventFramesError("value.data: a legacy message's frames end with a P frame; none found")
    try:
        header = frames.header()
    except EventFramesError as exc:
        raise EventFramesError(f"value.data (legacy frames): {exc}") from None
    when = utc_of(header.start_time)
    data: dict[str, Any] = {
        "run_id": header.run_id,
        "event_id": header.event_id,
        "eventtime": when.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "frames": value["data"],
    }
    online = _online_fit(frames)
    if online is not None:
        data["reco"] = {"splinempe": online}
    rewritten: dict[str, Any] = {k: v for k, v in value.items() if k != "data"}
    rewritten["version"] = LEGACY_VERSION
    rewritten["data"] = data
    event_type = _event_type(frames)
    if event_type is not None:
        rewritten["streams"] = [event_type]
    return {**message, "value": rewritten}
