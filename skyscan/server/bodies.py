"""The JSON bodies of the routes, read as SkyDriver v2.4.1 reads them (see :mod:`arguments`).

Each ``*_body`` function takes the decoded body and returns what the route needs, or raises
:class:`~skyscan.server.errors.ApiError` 400 with SkyDriver's text. The routes call them only
after authorizing the request (a body is never read for a client that may not send it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, ValidationError

from scanner_client.models import EventMetadata, Progress
from skybase import scan_requests
from skybase.json_types import JSONObject, JSONValue
from skybase.scan_requests import DEBUG_CLIENT_LOGS, REAL_OR_SIMULATED_CHOICES, RESERVED_CLASSIFIERS
from skyscan.pixels import MAX_NSIDE
from skyscan.server import arguments as a
from skyscan.server.arguments import Arg, Invalid
from skyscan.server.docker_tags import TagCatalogue, TagNotFound, TagTooOld
from skyscan.server.documents import LaunchFields
from skyscan.server.errors import ApiError

#: at most this many workers per cluster with debug_mode "client-logs" (SkyDriver's limits)
DEBUG_MODE_WORKER_CAPS: Final = {"osg": 100, "sub-2": 100, "local": 5}
DEFAULT_SIZES: Final = {
    "scanner_server_memory_bytes": 1_024_000_000,
    "worker_memory_bytes": 8_000_000_000,
    "worker_disk_bytes": 1_000_000_000,
}


def _no_redirect() -> Arg:
    return Arg("no_redirect", a.boolean)


# ------------------------------------------------------------------------------ POST /scan


def _debug_mode(value: JSONValue) -> list[str]:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item != DEBUG_CLIENT_LOGS:
            raise Invalid(f"invalid choice: {item!r} (choose from {DEBUG_CLIENT_LOGS!r})")
    return list(items)


def _classifiers(value: JSONValue) -> JSONObject:
    """SkyDriver's check of ``classifiers`` and ``scanner_server_env`` (the client's rule,
    :func:`skybase.scan_requests.classifiers_from`): at most 25 entries, keys and string values of
    at most 25 characters, scalar values. The keys reserved for rescans are refused later, for
    ``classifiers`` only, with SkyDriver's own text."""
    if not isinstance(value, dict):
        raise Invalid("must be a dict")
    try:
        scan_requests.classifiers_from(value, field="", reserved=(), shown=_shown_60)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return dict(value)


def _shown_60(value: object) -> str:
    return f"{value!r:.60}"


def _event(value: JSONValue) -> JSONObject:
    """The realtime event, read by the client's rule (:func:`skybase.scan_requests.event_from`),
    refused in SkyDriver's words."""
    try:
        return scan_requests.event_from(value)
    except ValueError:
        raise Invalid("must be JSON-string or JSON-friendly dict") from None


def _server_env(value: JSONValue) -> JSONObject:
    env = _classifiers(value)
    for key in env:
        if not isinstance(key, str) or not key:
            raise Invalid(f"keys must be non-empty strings (got {key!r})")
    return env


def _clusters(known: list[str]) -> Callable[[JSONValue], list[list[JSONValue]]]:
    def convert(value: JSONValue) -> list[list[JSONValue]]:
        shape = (
            "must be a dict of cluster location and number of workers, e.g. {'osg': 1500} "
            "(or a list of [location, n_workers] pairs to name a location twice)"
        )
        pairs = list(value.items()) if isinstance(value, dict) else value
        if not pairs or not isinstance(pairs, list):
            raise Invalid(shape)
        if not all(isinstance(pair, list | tuple) and len(pair) == 2 for pair in pairs):
            raise Invalid(shape)
        for name, _ in pairs:
            if name not in known:
                raise Invalid(f"requested unknown cluster: {name} (available: {', '.join(known)})")
        out = []
        for name, n_workers in pairs:
            try:
                count = a.integer(n_workers, low=1)
            except Invalid:
                raise Invalid(f"{name!r} needs a whole number of workers >= 1 (got {n_workers!r})") from None
            out.append([name, count])
        return out

    return convert


def _launch_args(known_clusters: list[str]) -> list[Arg]:
    clusters = _clusters(known_clusters)
    return [
        Arg("docker_tag", a.text, required=True),
        Arg("scanner_server_memory", a.data_size, dest="scanner_server_memory_bytes"),
        Arg("scanner_server_memory_bytes", a.data_size),
        Arg("worker_memory", a.data_size, dest="worker_memory_bytes"),
        Arg("worker_memory_bytes", a.data_size),
        Arg("memory", lambda v: v),
        Arg("worker_disk", a.data_size, dest="worker_disk_bytes"),
        Arg("worker_disk_bytes", a.data_size),
        Arg("cluster", clusters, dest="request_clusters"),
        Arg("request_clusters", clusters),
        Arg("reco_algo", a.nonblank, required=True),
        Arg("event_i3live_json", _event),
        Arg("i3_event_id", a.text),
        Arg("nsides", a.strict_dict, required=True),
        Arg("real_or_simulated_event", a.choice(*REAL_OR_SIMULATED_CHOICES), required=True),
        Arg("predictive_scanning_threshold", a.number),
        Arg("max_pixel_reco_time", lambda v: a.integer(v, low=1), required=True),
        Arg("debug_mode", _debug_mode),
        Arg("classifiers", _classifiers),
        Arg("priority", a.integer),
        Arg("scanner_server_env", _server_env, dest="scanner_server_env_from_user"),
        Arg("scanner_server_env_from_user", _server_env),
        Arg("manifest_projection", a.projection),
    ]


@dataclass(frozen=True)
class LaunchRequest:
    """A checked ``POST /scan``: the stored request's fields plus the event (or its id)."""

    docker_tag: str
    request_clusters: list[list[JSONValue]]
    reco_algo: str
    event: JSONObject | None
    i3_event_id: str | None
    nsides: dict[str, int]
    real_or_simulated_event: str
    predictive_scanning_threshold: float
    max_pixel_reco_time: int
    scanner_server_memory_bytes: int
    worker_memory_bytes: int
    worker_disk_bytes: int
    debug_mode: list[str]
    classifiers: JSONObject
    priority: int
    scanner_server_env_from_user: JSONObject
    manifest_projection: list[str] | None

    def request_fields(self) -> LaunchFields:
        """The stored request (``GET /scan-request``), without ``scan_id``/``rescan_ids``."""
        return {
            "docker_tag": self.docker_tag,
            "scanner_server_memory_bytes": self.scanner_server_memory_bytes,
            "reco_algo": self.reco_algo,
            "nsides": self.nsides,
            "real_or_simulated_event": self.real_or_simulated_event,
            "predictive_scanning_threshold": self.predictive_scanning_threshold,
            "classifiers": self.classifiers,
            "request_clusters": self.request_clusters,
            "worker_memory_bytes": self.worker_memory_bytes,
            "worker_disk_bytes": self.worker_disk_bytes,
            "max_pixel_reco_time": self.max_pixel_reco_time,
            "priority": self.priority,
            "debug_mode": self.debug_mode,
            "scanner_server_env_from_user": self.scanner_server_env_from_user,
        }


def launch_body(
    body: JSONObject,
    *,
    known_clusters: list[str],
    tags: TagCatalogue,
    runnable_algos: tuple[str, ...] | None,
) -> LaunchRequest:
    """``POST /scan``, checked in SkyDriver's order. ``runnable_algos`` (when skyscan runs the
    scan itself) also checks what the in-process scanner can run: reco_algo, nsides, threshold."""
    given = a.parse(body, _launch_args(known_clusters))
    sizes = {dest: a.one_value(given, dest, default) for dest, default in DEFAULT_SIZES.items()}
    clusters = a.one_value(given, "request_clusters")
    if "request_clusters" not in given:
        raise ApiError(400, "Missing required argument: 'request_clusters'")
    env = a.one_value(given, "scanner_server_env_from_user", {})
    if a.one_value(given, "memory"):
        raise ApiError(400, "argument memory: argument is deprecated--use 'worker_memory'")
    debug_mode: list[str] = a.one_value(given, "debug_mode", [])
    _check_debug_workers(debug_mode, clusters)
    docker_tag = _docker_tag(tags, a.one_value(given, "docker_tag"))
    classifiers: JSONObject = a.one_value(given, "classifiers", {})
    for reserved in RESERVED_CLASSIFIERS:
        if reserved in classifiers:
            raise ApiError(400, f"classifier cannot contain '{reserved}' sub-field")
    reco_algo: str = a.one_value(given, "reco_algo")
    nsides: JSONObject = {str(k): v for k, v in a.one_value(given, "nsides").items()}
    threshold: float = a.one_value(given, "predictive_scanning_threshold", 1.0)
    if runnable_algos is not None:
        nsides, threshold = _runnable(runnable_algos, reco_algo, nsides, threshold)
    event = a.one_value(given, "event_i3live_json") or None
    event_id = a.one_value(given, "i3_event_id") or None
    if (event is None) == (event_id is None):
        raise ApiError(400, "Must provide either 'event_i3live_json' or 'i3_event_id' (xor)")
    return LaunchRequest(
        docker_tag=docker_tag,
        request_clusters=clusters,
        reco_algo=reco_algo,
        event=event,
        i3_event_id=event_id,
        nsides=nsides,
        real_or_simulated_event=a.one_value(given, "real_or_simulated_event"),
        predictive_scanning_threshold=threshold,
        max_pixel_reco_time=a.one_value(given, "max_pixel_reco_time"),
        scanner_server_memory_bytes=sizes["scanner_server_memory_bytes"],
        worker_memory_bytes=sizes["worker_memory_bytes"],
        worker_disk_bytes=sizes["worker_disk_bytes"],
        debug_mode=debug_mode,
        classifiers=classifiers,
        priority=a.one_value(given, "priority", 0),
        scanner_server_env_from_user=env,
        manifest_projection=a.one_value(given, "manifest_projection"),
    )


def _check_debug_workers(debug_mode: list[str], clusters: list[list[JSONValue]]) -> None:
    """With ``debug_mode`` "client-logs", each cluster takes at most its cap of workers."""
    if DEBUG_CLIENT_LOGS not in debug_mode:
        return
    for name, n_workers in clusters:
        cap = DEBUG_MODE_WORKER_CAPS.get(name)
        if cap is not None and n_workers > cap:
            raise ApiError(
                400,
                f"Too many workers: Cluster '{name}' can only have {cap} workers "
                f"when 'debug_mode' includes '{DEBUG_CLIENT_LOGS}'",
            )


def _docker_tag(tags: TagCatalogue, given: str) -> str:
    """The image tag ``given`` resolved by the catalogue, or SkyDriver's 400."""
    try:
        return tags.resolve(given)
    except TagNotFound:
        raise ApiError(400, "argument docker_tag: image not found") from None
    except TagTooOld:
        raise ApiError(
            400,
            f"argument docker_tag: Image tag is older than the minimum supported tag "
            f"'{tags.min_tag}'. Contact admins for more info.",
        ) from None


def _runnable(
    runnable_algos: tuple[str, ...], reco_algo: str, nsides: JSONObject, threshold: float
) -> tuple[JSONObject, float]:
    """The checks of a scan skyscan runs itself: a known reco_algo, nsides it can scan (returned
    normalised) and a threshold in range."""
    if reco_algo not in runnable_algos:
        raise ApiError(
            400,
            f"argument reco_algo: unknown algorithm {reco_algo!r} for skyscan, which runs the "
            f"scan itself (it runs: {', '.join(runnable_algos)})",
        )
    # a whole number written 12.0 is the integer 12, as for every other integer argument
    whole = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in nsides.items()}
    try:
        checked = scan_requests.nsides_to_json(scan_requests.nsides_from(whole))
    except (ValueError, TypeError) as exc:
        raise ApiError(400, f"argument {exc}") from None
    largest = max(int(nside) for nside in checked)
    if largest > MAX_NSIDE:
        raise ApiError(400, f"argument nsides: nside {largest} is above HEALPix's limit ({MAX_NSIDE})")
    try:
        return checked, scan_requests.threshold_from(threshold)
    except ValueError as exc:
        raise ApiError(400, f"argument {exc}") from None


# ------------------------------------------------------------------------------ the other bodies


@dataclass(frozen=True)
class Options:
    """The parsed values of a simple body, by name."""

    values: JSONObject

    def __getitem__(self, name: str) -> JSONValue:
        return self.values[name]


def _simple(body: JSONObject, args: list[Arg], defaults: JSONObject) -> Options:
    given = a.parse(body, args)
    return Options({**defaults, **{dest: values[-1][1] for dest, values in given.items()}})


def delete_body(body: JSONObject) -> Options:
    args = [_no_redirect(), Arg("delete_completed_scan", a.boolean), Arg("manifest_projection", a.projection)]
    defaults = {"no_redirect": False, "delete_completed_scan": False, "manifest_projection": None}
    return _simple(body, args, defaults)


def rescan_body(body: JSONObject) -> Options:
    args = [
        _no_redirect(),
        Arg("abort_first", a.boolean),
        Arg("replace_scan", a.boolean),
        Arg("manifest_projection", a.projection),
    ]
    defaults = {"no_redirect": False, "abort_first": False, "replace_scan": False}
    return _simple(body, args, {**defaults, "manifest_projection": None})


def find_body(body: JSONObject) -> Options:
    args = [
        Arg("filter", a.strict_dict, required=True),
        Arg("include_deleted", a.boolean),
        Arg("manifest_projection", a.projection),
    ]
    return _simple(body, args, {"include_deleted": False, "manifest_projection": None})


def add_workers_body(body: JSONObject) -> Options:
    args = [
        _no_redirect(),
        Arg("n_workers", lambda v: a.integer(v, low=1), required=True),
        Arg("cluster_location", a.nonblank, required=True),
    ]
    return _simple(body, args, {"no_redirect": False})


#: the longest workflow id the store holds
WORKFLOW_ID_MAX: Final = 64


def workflow_id_body(body: JSONObject) -> Options:
    args = [
        Arg("workflow_id", lambda v: a.storable(a.nonblank(v), longest=WORKFLOW_ID_MAX), required=True),
        Arg("ewms_address", lambda v: a.storable(a.text(v)), required=True),
    ]
    return _simple(body, args, {})


def put_result_body(body: JSONObject) -> Options:
    args = [Arg("skyscan_result", a.strict_dict, required=True), Arg("is_final", a.boolean, required=True)]
    return _simple(body, args, {})


def _dataclass_like(model: type[BaseModel], first_field: str) -> Callable[[JSONValue], JSONObject | None]:
    """A converter: a falsy value is absent (None); a non-dict or a bad dict is refused in the
    words of SkyDriver's dataclass loader, which checks the type of each field as it is (strict:
    ``"5"`` is not an integer)."""

    def convert(value: JSONValue) -> JSONObject | None:
        if not value:
            return None
        if not isinstance(value, dict):
            raise Invalid(f'missing value for field "{first_field}"')
        try:
            model.model_validate(value, strict=True)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            if error["type"] == "missing":
                raise Invalid(f'missing value for field "{where}"') from None
            raise Invalid(f'wrong value type for field "{where}": {error["msg"]}') from None
        return value

    return convert


def _scan_metadata(value: JSONValue) -> JSONObject:
    if value in (None, {}, [], ""):
        return {}
    if not isinstance(value, dict):
        raise Invalid(f"must be a dict (got {value!r:.60})")
    return value


def patch_manifest_body(body: JSONObject) -> Options:
    args = [
        Arg("progress", _dataclass_like(Progress, "summary")),
        Arg("event_metadata", _dataclass_like(EventMetadata, "run_id")),
        Arg("scan_metadata", _scan_metadata),
    ]
    return _simple(body, args, {"progress": None, "event_metadata": None, "scan_metadata": {}})
