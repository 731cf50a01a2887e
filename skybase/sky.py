"""Detector-frame directions to equatorial J2000 coordinates, as IceCube converts them.

IceCube reports a reconstructed direction as zenith and azimuth in its own local frame: the
direction the muon came *from*, seen from the origin of the detector's coordinate system. That
origin is not the geographic pole: it lies at geodetic latitude -89.9944 deg, longitude -62.6081 deg
(the constants of IceTray's ``astro`` project). The local zenith therefore points 0.0056 deg away
from Dec = -90 deg, and the detector's azimuth (from its grid x-axis, counter-clockwise) is the
astronomical azimuth (N = 0, E = 90 deg) through ``az = 90 deg - azimuth - longitude``.

The conversion is the one IceCube's ``astro`` makes (observed place -> geocentric apparent place ->
mean J2000 place), written with the IAU SOFA routines of pyerfa (shipped with astropy):

1. ``atoi13``: observed (azimuth, zenith distance) at the site and time -> CIRS (the sky of date,
   including diurnal aberration); no refraction (the light travels through ice, not air);
2. ``atic13``: CIRS -> ICRS (astrometric J2000): removes annual aberration (up to 20.5 arcsec) and
   the Sun's light deflection, and undoes precession-nutation.

A rotation of the sky of date to J2000 alone (a pole-centred detector, precession-nutation only)
leaves out both the site offset and the annual aberration and lands 0.0047-0.0051 deg from GCN's
published Revision 0 positions; this conversion reproduces them to 0.0002 deg (tests print the
offsets). UT1 is taken equal to UTC and polar motion as zero (|UT1-UTC| < 0.9 s), as IceCube does,
so nothing is downloaded at run time.
"""

from __future__ import annotations

import datetime as dt
from typing import overload

import erfa
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_JD_UNIX_EPOCH = 2440587.5  # Julian date of 1970-01-01T00:00:00 UTC


def _julian_date_utc(when: dt.datetime) -> tuple[float, float]:
    """Two-part UTC Julian date of an aware or naive-UTC datetime."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    seconds = when.second + when.microsecond / 1e6
    jd1, jd2 = erfa.dtf2d("UTC", when.year, when.month, when.day, when.hour, when.minute, seconds)
    return float(jd1), float(jd2)


#: geodetic latitude and longitude (east positive) of the origin of IceCube's coordinate system
ICECUBE_LATITUDE_DEG = -89.9944
ICECUBE_LONGITUDE_DEG = -62.6081
_LAT = np.radians(ICECUBE_LATITUDE_DEG)
_LON = np.radians(ICECUBE_LONGITUDE_DEG)


def _utc_and_tt(when: dt.datetime) -> tuple[float, float, float, float]:
    utc1, utc2 = _julian_date_utc(when)
    tai1, tai2 = erfa.utctai(utc1, utc2)
    tt1, tt2 = erfa.taitt(tai1, tai2)
    return utc1, utc2, float(tt1), float(tt2)


@overload
def detector_to_j2000(zenith_rad: float, azimuth_rad: float, when: dt.datetime) -> tuple[float, float]: ...
@overload
def detector_to_j2000(
    zenith_rad: FloatArray, azimuth_rad: FloatArray, when: dt.datetime
) -> tuple[FloatArray, FloatArray]: ...
def detector_to_j2000(
    zenith_rad: float | FloatArray, azimuth_rad: float | FloatArray, when: dt.datetime
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """Convert detector zenith/azimuth (radians) at ``when`` (UTC) to (RA, Dec) J2000 in degrees."""
    scalar = np.ndim(zenith_rad) == 0 and np.ndim(azimuth_rad) == 0
    zen = np.asarray(zenith_rad, dtype=np.float64)
    azi = np.asarray(azimuth_rad, dtype=np.float64)
    utc1, utc2, tt1, tt2 = _utc_and_tt(when)
    astro_az = np.mod(np.pi / 2.0 - azi - _LON, 2.0 * np.pi)
    # observed -> CIRS (UT1 - UTC = 0, height 0, no polar motion, no refraction: pressure 0)
    ri, di = erfa.atoi13("A", astro_az, zen, utc1, utc2, 0.0, _LON, _LAT, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    # CIRS -> ICRS (TDB ~ TT: the difference is below 2 ms)
    rc, dc, _eo = erfa.atic13(ri, di, tt1, tt2)
    ra = np.degrees(np.mod(rc, 2.0 * np.pi))
    dec = np.degrees(dc)
    if scalar:
        return float(ra), float(dec)
    return np.asarray(ra, dtype=np.float64), np.asarray(dec, dtype=np.float64)


def j2000_to_detector(ra_deg: float, dec_deg: float, when: dt.datetime) -> tuple[float, float]:
    """Inverse of :func:`detector_to_j2000`: (zenith, azimuth) in radians for a J2000 position at ``when``."""
    utc1, utc2, _tt1, _tt2 = _utc_and_tt(when)
    aob, zob, *_ = erfa.atco13(
        np.radians(ra_deg), np.radians(dec_deg), 0.0, 0.0, 0.0, 0.0,
        utc1, utc2, 0.0, _LON, _LAT, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    )  # fmt: skip
    azimuth = float(np.mod(np.pi / 2.0 - float(aob) - _LON, 2.0 * np.pi))
    return float(zob), azimuth


def angular_distance_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance in degrees between two (RA, Dec) positions in degrees."""
    r1, d1, r2, d2 = map(np.radians, (ra1, dec1, ra2, dec2))
    cos_d = np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(r1 - r2)
    return float(np.degrees(np.arccos(np.clip(cos_d, -1.0, 1.0))))
