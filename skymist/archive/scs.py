"""The Simple Cone Search protocol (IVOA SCS 1.03): a query's parameters and the answer's bytes.

Parameters: ``RA``, ``DEC`` (ICRS, decimal degrees) and ``SR`` (the radius, decimal degrees) are
required; ``VERB`` (1, 2 or 3: few, the usual, every column) is optional, 2 by default. Names are
matched without regard to case (``ra=&dec=&sr=`` is the same query, as DALI asks); a parameter the
service does not know is ignored, as SCS asks. Whatever is wrong with a query (missing, not a number,
out of range, given twice with two values) is answered with the standard's error document,
:func:`skymist.archive.votable.error_votable`, naming the parameter and the value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from skymist.archive.cone import AlertRegion, search_votable
from skymist.archive.votable import error_votable

#: (name, lowest, highest) of the required parameters, decimal degrees
RANGES: tuple[tuple[str, float, float], ...] = (("RA", 0.0, 360.0), ("DEC", -90.0, 90.0), ("SR", 0.0, 180.0))
VERBOSITIES = (1, 2, 3)
DEFAULT_VERB = 2


class ScsQueryError(ValueError):
    """A query SCS cannot answer (the message names the parameter and its value)."""


@dataclass(frozen=True)
class ConeQuery:
    ra_deg: float
    dec_deg: float
    sr_deg: float
    verb: int = DEFAULT_VERB


def _by_name(params: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The query's parameters by upper-case name; the same name with two values is an error."""
    values: dict[str, str] = {}
    for name, value in params:
        key = name.strip().upper()
        if key in values and values[key] != value:
            raise ScsQueryError(f"{key} is given twice ({values[key]!r} and {value!r}): give it once")
        values[key] = value
    return values


def _degrees(name: str, text: str | None, low: float, high: float) -> float:
    if text is None or text.strip() == "":
        raise ScsQueryError(f"{name} is missing (SCS needs RA, DEC and SR in decimal degrees)")
    try:
        value = float(text)
    except ValueError:
        raise ScsQueryError(f"{name} = {text!r}: not a number (decimal degrees)") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ScsQueryError(f"{name} = {text!r}: outside [{low:g}, {high:g}] deg")
    return value


def parse_query(params: Iterable[tuple[str, str]]) -> ConeQuery:
    """The cone of a query string's ``(name, value)`` pairs; :class:`ScsQueryError` says what is wrong."""
    values = _by_name(params)
    ra, dec, sr = (_degrees(name, values.get(name), low, high) for name, low, high in RANGES)
    verb_text = values.get("VERB")
    verb = DEFAULT_VERB
    if verb_text is not None and verb_text.strip() != "":
        try:
            verb = int(verb_text)
        except ValueError:
            verb = 0
        if verb not in VERBOSITIES:
            raise ScsQueryError(f"VERB = {verb_text!r}: expected 1, 2 or 3")
    return ConeQuery(ra, dec, sr, verb)


def answer(regions: Callable[[], list[AlertRegion]], params: Iterable[tuple[str, str]]) -> bytes:
    """The VOTable that answers the query ``params`` (the error document when the query is wrong;
    ``regions()`` is asked only for a right one)."""
    try:
        query = parse_query(params)
    except ScsQueryError as exc:
        return error_votable(str(exc))
    return search_votable(regions(), query.ra_deg, query.dec_deg, query.sr_deg, query.verb)
