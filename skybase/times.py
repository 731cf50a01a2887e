"""Times of realtime events: UTC date-times as IceCube writes them, and modified Julian dates.

i3live messages write UTC without a zone suffix (``2022-05-24 07:41:32.185352``); everything here
returns aware UTC datetimes. MJD is counted in days of 86,400 s from 1858-11-17T00:00 UTC, to the
microsecond (the convention of skyreader's ``mjd`` and of the FITS ``MJD-OBS`` key).
"""

from __future__ import annotations

import datetime as dt

MJD_EPOCH = dt.datetime(1858, 11, 17, tzinfo=dt.UTC)
_DAY_US = 86_400_000_000


class TimeFormatError(ValueError):
    """A text that is not a UTC date-time in IceCube's format."""


def parse_utc(text: str) -> dt.datetime:
    """``YYYY-MM-DD hh:mm:ss[.ffffff]`` (``T`` and a ``Z`` or offset accepted) as an aware UTC datetime."""
    cleaned = text.strip().replace("T", " ")
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1]
    try:
        parsed = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        raise TimeFormatError(f"not a UTC date-time 'YYYY-MM-DD hh:mm:ss[.ffffff]': {text!r}") from None
    return as_utc(parsed)


def as_utc(when: dt.datetime) -> dt.datetime:
    """``when`` as an aware UTC datetime (a naive one is taken to be UTC already)."""
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def modified_julian_date(when: dt.datetime) -> float:
    """MJD (UTC, days of 86,400 s) of ``when``, exact to the microsecond before the float rounding."""
    elapsed = as_utc(when) - MJD_EPOCH
    return elapsed.days + (elapsed.seconds * 1_000_000 + elapsed.microseconds) / _DAY_US


def mjd_to_datetime(mjd: float) -> dt.datetime:
    """The aware UTC datetime of a modified Julian date (days of 86,400 s), to the microsecond."""
    return MJD_EPOCH + dt.timedelta(microseconds=round(mjd * _DAY_US))


def mjd_to_isot(mjd: float) -> str:
    """ISO 8601 ``YYYY-MM-DDThh:mm:ss.ffffff`` (UTC, no zone suffix: the FITS ``DATE-OBS`` form)."""
    return mjd_to_datetime(mjd).strftime("%Y-%m-%dT%H:%M:%S.%f")


def voevent_time(when: dt.datetime) -> str:
    """VOEvent ISOTime with centiseconds, as GCN writes it: ``2022-08-22T20:26:30.03``."""
    when = when.astimezone(dt.UTC)
    centis = round(when.microsecond / 1e4)
    if centis == 100:  # rounding up into the next second
        when = when.replace(microsecond=0) + dt.timedelta(seconds=1)
        centis = 0
    return when.strftime("%Y-%m-%dT%H:%M:%S") + f".{centis:02d}"
