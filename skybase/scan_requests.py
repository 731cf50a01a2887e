"""Rules for scan-request arguments, the one set shared by ``scanner_client`` (checked before
sending) and by ``skyscan serve`` (checked on arrival), and by SkyMist's reco plans.

Each function returns the normalised value or raises :class:`ValueError` whose message
names what is wrong and the value given.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Literal

from skybase.json_types import JSONObject, JSONValue

#: reco algorithms of IceCube's Skymap Scanner v4 plus skyscan's own
SKYMAP_SCANNER_RECO_ALGOS: Final = frozenset(
    {"millipede_original", "millipede_wilks", "splinempe", "splinempe_pointed", "dummy", "crash_dummy"}
)
SKYSCAN_RECO_ALGOS: Final = frozenset({"dummy", "online_gaussian", "pandel_mpe", "table_mpe"})
KNOWN_RECO_ALGOS: Final = SKYMAP_SCANNER_RECO_ALGOS | SKYSCAN_RECO_ALGOS

REAL_EVENT_CHOICES: Final = ("real", "real_event")
SIMULATED_EVENT_CHOICES: Final = ("sim", "simulated", "simulated_event")
#: every ``real_or_simulated_event`` value, real first
REAL_OR_SIMULATED_CHOICES: Final = (*REAL_EVENT_CHOICES, *SIMULATED_EVENT_CHOICES)
#: the ``real_or_simulated_event`` values as a type: the two tuples above, in their order
RealOrSimulated = Literal["real", "real_event", "sim", "simulated", "simulated_event"]

#: the one ``debug_mode`` value: the workers send their logs to the client
DEBUG_CLIENT_LOGS: Final = "client-logs"
DebugMode = Literal["client-logs"]

CLASSIFIERS_MAX_ENTRIES: Final = 25
CLASSIFIERS_MAX_CHARS: Final = 25
#: classifier keys SkyDriver reserves for rescan provenance
RESERVED_CLASSIFIERS: Final = ("rescan", "origin_scan_id")

SCAN_ID_PATTERN: Final = re.compile(r"[0-9a-f]{11}x[0-9a-f]{20}")

Scalar = str | bool | int | float | None


def nsides_from(value: Mapping[Any, Any] | Iterable[tuple[Any, Any]]) -> dict[int, int]:
    """Check an nside progression: ``{nside: pixel_extension}`` in scan order.

    nsides are ascending powers of two; the first extension is 0 and the later ones positive.
    JSON string keys (``{"8": 0}``) and pairs (``[(8, 0), (64, 12)]``) are accepted.
    """
    items = list(value.items()) if isinstance(value, Mapping) else list(value)
    if not items:
        raise ValueError("nsides: must name at least one nside, e.g. {'8': 0, '64': 12, '512': 24}")
    result: dict[int, int] = {}
    previous = 0
    for position, (raw_nside, raw_ext) in enumerate(items):
        nside = _strict_int(raw_nside, f"nsides key {raw_nside!r}")
        ext = _strict_int(raw_ext, f"nsides[{raw_nside!r}]")
        if nside < 1 or nside & (nside - 1):
            raise ValueError(f"nsides: nside {raw_nside!r} is not a power of two")
        if nside <= previous:
            raise ValueError(f"nsides: nside {nside} must be greater than the nside before it ({previous})")
        if position == 0 and ext != 0:
            raise ValueError(f"nsides: the first nside's pixel extension must be 0 (got {nside}: {ext})")
        if position > 0 and ext <= 0:
            raise ValueError(f"nsides: pixel extension of nside {nside} must be positive (got {ext})")
        result[nside] = ext
        previous = nside
    return result


def nsides_to_json(nsides: Mapping[int, int]) -> dict[str, int]:
    """The wire form: string keys in scan order."""
    return {str(nside): ext for nside, ext in nsides.items()}


def _strict_int(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        return int(value)
    raise ValueError(f"{what}: expected an integer, got {value!r}")


def reco_algo_from(value: str, known: Iterable[str] = KNOWN_RECO_ALGOS) -> str:
    """Check ``reco_algo`` against a list of known algorithms."""
    allowed = sorted(known)
    if value not in allowed:
        raise ValueError(f"reco_algo: unknown algorithm {value!r} (known: {', '.join(allowed)})")
    return value


def threshold_from(value: float) -> float:
    """``predictive_scanning_threshold`` must be in (0.1, 1.0] (the scanner rejects exactly 0.1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"predictive_scanning_threshold: expected a number, got {value!r}")
    if not 0.1 < value <= 1.0:
        raise ValueError(f"predictive_scanning_threshold: must be > 0.1 and <= 1.0 (got {value!r})")
    return float(value)


def classifiers_from(
    value: Mapping[str, Any],
    *,
    field: str = "classifiers",
    reserved: Iterable[str] = RESERVED_CLASSIFIERS,
    shown: Callable[[object], str] = repr,
) -> dict[str, Scalar]:
    """<= 25 scalar entries; keys and string values <= 25 characters; none of the ``reserved``
    keys. The rule of ``classifiers`` and ``scanner_server_env`` on both sides of the wire: the
    message starts with ``field`` (none when it is empty: the server adds the argument's name)
    and shows the values given with ``shown``."""
    label = f"{field}: " if field else ""
    if len(value) > CLASSIFIERS_MAX_ENTRIES:
        raise ValueError(f"{label}at most {CLASSIFIERS_MAX_ENTRIES} entries (got {len(value)})")
    refused = frozenset(reserved)
    result: dict[str, Scalar] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValueError(f"{label}keys must be strings (got {key!r})")
        if len(key) > CLASSIFIERS_MAX_CHARS:
            raise ValueError(f"{label}key {shown(key)} is longer than {CLASSIFIERS_MAX_CHARS} characters")
        if key in refused:
            raise ValueError(f"{label}cannot contain {key!r} sub-field (reserved for rescans)")
        if item is not None and not isinstance(item, str | bool | int | float):
            raise ValueError(
                f"{field}[{key!r}]: must be a string, number, boolean or null (got {shown(item)})"
            )
        if isinstance(item, str) and len(item) > CLASSIFIERS_MAX_CHARS:
            raise ValueError(
                f"{field}[{key!r}]: value {shown(item)} is longer than {CLASSIFIERS_MAX_CHARS} characters"
            )
        result[key] = item
    return result


def event_from(value: JSONValue) -> JSONObject:
    """The realtime event: a JSON object, or a string holding one."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"event_i3live_json: not valid JSON ({exc})") from None
        value = parsed
    if not isinstance(value, Mapping):
        raise ValueError(f"event_i3live_json: must be a JSON object (got {type(value).__name__})")
    return dict(value)


#: a size written as text: decimal (``8GB``, ``1024M``) or binary (``2GiB``) units
_SIZE: Final = re.compile(r"\s*(\d{1,20}(?:\.\d{1,20})?)\s*([kmgtpe]?)(i?)(b?)\s*", re.IGNORECASE)
_SIZE_POWERS: Final = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}


def size_text_bytes(text: str) -> int | None:
    """The bytes a size text such as ``"8GB"``, ``"1024M"`` or ``"2GiB"`` stands for, or None
    when ``text`` is not one (the units both the client and the server read)."""
    match = _SIZE.fullmatch(text)
    if not match or (match.group(3) and not match.group(2)):
        return None
    base = 1024 if match.group(3) else 1000
    return int(float(match.group(1)) * base ** _SIZE_POWERS[match.group(2).lower()])


def size_bytes_from(value: int | str, *, field: str) -> int:
    """A data size in bytes: an integer, or a string like ``"8GB"``, ``"1024M"`` (decimal units)
    or ``"2GiB"`` (binary units)."""
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected bytes or a size like '8GB', got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{field}: must not be negative (got {value})")
        return value
    size = size_text_bytes(value)
    if size is None:
        raise ValueError(f"{field}: expected bytes or a size like '8GB' or '2GiB', got {value!r}")
    return size
