"""``SkyDriverClient``: every route of the SkyDriver REST API v2.4.x, typed.

Idempotent calls are retried by the :class:`RetryPolicy`. ``POST /scan`` is made safe to retry
by tagging the request with a unique key in ``classifiers`` and, after a failure whose outcome
is unknown (timeout, dropped connection, 5xx), looking the key up with ``POST /scans/find``
before submitting again: one call of :meth:`launch_scan` creates at most one scan.

GET calls on a replaced scan (HTTP 302) follow the redirect explicitly when ``follow_replaced``
is true (the default), reporting the new id through the log and ``on_replaced``; otherwise, and
always for mutating calls, :class:`ReplacedError` is raised with the new id.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

import requests
from pydantic import BaseModel, SecretStr

from scanner_client.auth import StaticToken, TokenSource
from scanner_client.errors import (
    OutcomeUnknownError,
    RateLimitedError,
    ReplacedError,
    ScanEndedWithoutResultError,
    ScannerError,
    ScannerTransportError,
    ScannerValidationError,
    ScanStalledError,
    ScanWaitTimeoutError,
    ServerError,
    UnexpectedResponseError,
)
from scanner_client.models import (
    LaunchScanRequest,
    Manifest,
    ScanRequestRecord,
    ScanResult,
    ScanState,
    ScanStatus,
    ScanWithResult,
)
from scanner_client.retry import RetryPolicy
from scanner_client.skyscan_result import SkyscanResult, encode_nan
from scanner_client.transport import Answer, QueryValue, Transport
from skybase.json_types import JSONObject, JSONValue

LOG = logging.getLogger(__name__)

DEFAULT_REQUEST_KEY_FIELD: Final = "skymist_req"
_SCAN_ID = re.compile(r"\w+")
_LOCATION_SCAN_ID = re.compile(r"/scan/(\w+)")
_MAX_REDIRECTS: Final = 5
_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True)
class RawResult:
    """A scan result and the exact bytes it came in."""

    result: ScanResult
    raw: bytes


def new_request_key() -> str:
    """A fresh request key: 24 hex characters (fits the 25-character classifier limit)."""
    return uuid.uuid4().hex[:24]


class SkyDriverClient:
    """A client of one SkyDriver (or ``skyscan serve``) instance.

    ``token`` (a static bearer token) or ``auth`` (any :class:`TokenSource`, e.g.
    :class:`ClientCredentials`) authenticates the calls. Use as a context manager, or call
    :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | SecretStr | None = None,
        auth: TokenSource | None = None,
        retry: RetryPolicy | None = None,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 60.0,
        request_key_field: str = DEFAULT_REQUEST_KEY_FIELD,
        dedupe_settle_s: float = 2.0,
        on_replaced: Callable[[str, str], None] | None = None,
        session: requests.Session | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if token is not None and auth is not None:
            raise ValueError("SkyDriverClient: give either token or auth, not both")
        source: TokenSource | None = StaticToken(token) if token is not None else auth
        self.retry = retry or RetryPolicy()
        self.request_key_field = request_key_field
        self.dedupe_settle_s = dedupe_settle_s
        self.on_replaced = on_replaced
        self._sleep = sleep
        self._transport = Transport(
            base_url,
            source,
            retry=self.retry,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            session=session,
            rng=rng,
            sleep=sleep,
        )

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def __repr__(self) -> str:
        return f"SkyDriverClient({self.base_url!r})"

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> SkyDriverClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- user routes

    def ping(self) -> None:
        """``GET /``: check that the server answers and accepts the token."""
        self._transport.call("GET", "/", retry=True)

    def launch_scan(self, request: LaunchScanRequest, *, request_key: str | None = None) -> Manifest:
        """``POST /scan``: queue a new scan; returns its manifest.

        The request is tagged ``classifiers[request_key_field] = request_key`` (a fresh key when
        not given). After a failure with an unknown outcome the key is looked up before any new
        submission, so at most one scan is created. Raises :class:`OutcomeUnknownError` if that
        look-up itself cannot be done.
        """
        key = request_key or str(request.classifiers.get(self.request_key_field) or new_request_key())
        try:
            tagged = request.with_classifier(self.request_key_field, key)
        except ValueError as exc:
            raise ScannerValidationError("classifiers", dict(request.classifiers), str(exc)) from None
        body = tagged.to_body()
        last: ScannerError | None = None
        for attempt in range(1, self.retry.max_attempts + 1):
            if attempt > 1:
                self._sleep(self.retry.delay_s(attempt - 1, self._transport.rng))
            try:
                answer = self._transport.call("POST", "/scan", body=body, retry=False)
                return _parse(Manifest, answer.body, "POST /scan")
            except RateLimitedError as exc:  # refused before processing: safe to submit again
                last = exc
                continue
            except (ScannerTransportError, ServerError) as exc:
                last = exc
                LOG.warning(
                    "POST /scan outcome unknown, looking the request key up",
                    extra={"request_key": key, "cause": str(exc)},
                )
                found = self._find_submitted(key, exc)
                if found is not None:
                    return found
        assert last is not None
        raise last

    def _find_submitted(self, key: str, cause: ScannerError) -> Manifest | None:
        """The scan created by an earlier submission of ``key``, if any; looks twice, the second
        time after ``dedupe_settle_s``, so a submission still being stored is not missed."""
        for look in range(2):
            if look:
                self._sleep(self.dedupe_settle_s)
            try:
                manifests = self.find_scans(
                    {f"classifiers.{self.request_key_field}": key}, include_deleted=True
                )
            except ScannerError as exc:
                raise OutcomeUnknownError(
                    self.request_key_field, key, f"{cause}; look-up failed: {exc}"
                ) from None
            manifests = [m for m in manifests if not m.classifiers.get("rescan")]  # rescans copy the key
            if manifests:
                if len(manifests) > 1:
                    LOG.error(
                        "several scans carry one request key",
                        extra={"request_key": key, "scan_ids": [m.scan_id for m in manifests]},
                    )
                oldest = min(manifests, key=lambda m: m.timestamp)
                LOG.info("earlier submission found", extra={"request_key": key, "scan_id": oldest.scan_id})
                return oldest
        return None

    def get_scan(
        self,
        scan_id: str,
        *,
        include_deleted: bool = False,
        follow_replaced: bool = True,
        no_redirect: bool = False,
    ) -> ScanWithResult:
        """``GET /scan/{id}``: manifest and result."""
        body = self._get(
            "/scan/{}",
            scan_id,
            {"include_deleted": include_deleted, "no_redirect": no_redirect or None},
            follow_replaced,
        )
        return _parse(ScanWithResult, body, "GET /scan/{id}")

    def get_manifest(
        self,
        scan_id: str,
        *,
        include_deleted: bool = False,
        follow_replaced: bool = True,
        no_redirect: bool = False,
    ) -> Manifest:
        """``GET /scan/{id}/manifest``."""
        body = self._get(
            "/scan/{}/manifest",
            scan_id,
            {"include_deleted": include_deleted, "no_redirect": no_redirect or None},
            follow_replaced,
        )
        return _parse(Manifest, body, "GET /scan/{id}/manifest")

    def get_status(
        self, scan_id: str, *, follow_replaced: bool = True, no_redirect: bool = False
    ) -> ScanStatus:
        """``GET /scan/{id}/status`` (answers for deleted scans too)."""
        body = self._get("/scan/{}/status", scan_id, {"no_redirect": no_redirect or None}, follow_replaced)
        return _parse(ScanStatus, body, "GET /scan/{id}/status")

    def get_result(
        self,
        scan_id: str,
        *,
        include_deleted: bool = False,
        follow_replaced: bool = True,
        no_redirect: bool = False,
    ) -> ScanResult | None:
        """``GET /scan/{id}/result``: None while there is no result."""
        body = self._get(
            "/scan/{}/result",
            scan_id,
            {"include_deleted": include_deleted, "no_redirect": no_redirect or None},
            follow_replaced,
        )
        return None if body == {} else _parse(ScanResult, body, "GET /scan/{id}/result")

    def get_result_raw(
        self, scan_id: str, *, include_deleted: bool = False, no_redirect: bool = False
    ) -> RawResult | None:
        """``GET /scan/{id}/result`` with the exact response bytes, for storing a result verbatim.

        None while there is no result. A replaced scan raises :class:`ReplacedError` (never followed
        here: the caller records the new id).
        """
        current = _checked_id(scan_id)
        query: dict[str, QueryValue] = {"include_deleted": include_deleted}
        query["no_redirect"] = no_redirect or None
        answer = self._transport.call("GET", f"/scan/{current}/result", query=query, retry=True)
        if 300 <= answer.status < 400:
            raise _replaced("GET", f"{self.base_url}/scan/{current}/result", current, answer)
        if answer.body == {}:
            return None
        return RawResult(_parse(ScanResult, answer.body, "GET /scan/{id}/result"), answer.raw)

    def get_i3_event(
        self, scan_id: str, *, follow_replaced: bool = True, no_redirect: bool = False
    ) -> JSONObject:
        """``GET /scan/{id}/i3-event``: the realtime message the scan was launched with."""
        body = self._get("/scan/{}/i3-event", scan_id, {"no_redirect": no_redirect or None}, follow_replaced)
        if not isinstance(body, dict) or not isinstance(body.get("i3_event"), dict):
            raise UnexpectedResponseError(
                f"GET /scan/{scan_id}/i3-event: no 'i3_event' object in {body!r:.200}"
            )
        event: JSONObject = body["i3_event"]
        return event

    def get_scan_request(self, scan_id: str) -> ScanRequestRecord:
        """``GET /scan-request/{id}``: the stored request (a rescan's id gives its origin's)."""
        answer = self._transport.call("GET", f"/scan-request/{_checked_id(scan_id)}", retry=True)
        return _parse(ScanRequestRecord, answer.body, "GET /scan-request/{id}")

    def delete_scan(
        self, scan_id: str, *, delete_completed_scan: bool = False, no_redirect: bool = False
    ) -> ScanWithResult:
        """``DELETE /scan/{id}``: abort the scan and mark it deleted.

        A replaced scan answers 302 (raised as :class:`ReplacedError`) unless ``no_redirect``.
        """
        answer = self._mutate(
            "DELETE", "/scan/{}", scan_id, {"delete_completed_scan": delete_completed_scan}, no_redirect
        )
        return _parse(ScanWithResult, answer.body, "DELETE /scan/{id}")

    def rescan(
        self,
        scan_id: str,
        *,
        abort_first: bool = False,
        replace_scan: bool = False,
        no_redirect: bool = False,
    ) -> Manifest:
        """``POST /scan/{id}/actions/rescan``: a new scan from the same request; returns its manifest.

        ``replace_scan`` makes the old id redirect to the new one; ``abort_first`` aborts the old scan.
        """
        answer = self._mutate(
            "POST",
            "/scan/{}/actions/rescan",
            scan_id,
            {"abort_first": abort_first, "replace_scan": replace_scan},
            no_redirect,
        )
        return _parse(Manifest, answer.body, "POST /scan/{id}/actions/rescan")

    def find_scans(self, filter: Mapping[str, JSONValue], *, include_deleted: bool = False) -> list[Manifest]:
        """``POST /scans/find``: manifests matching a MongoDB-style filter, e.g.
        ``{"event_metadata.run_id": 138632, "event_metadata.event_id": 31747601}``."""
        return [_parse(Manifest, m, "POST /scans/find") for m in self._find(filter, include_deleted, "*")]

    def find_scan_fields(
        self, filter: Mapping[str, JSONValue], fields: Sequence[str], *, include_deleted: bool = False
    ) -> list[JSONObject]:
        """``POST /scans/find`` with a projection: only ``fields`` of each manifest."""
        if not fields:
            raise ScannerValidationError("fields", list(fields), "name at least one manifest field")
        return self._find(filter, include_deleted, list(fields))

    def _find(
        self, filter: Mapping[str, JSONValue], include_deleted: bool, projection: JSONValue
    ) -> list[JSONObject]:
        body = {"filter": dict(filter), "include_deleted": include_deleted, "manifest_projection": projection}
        # a search changes nothing: safe to retry although it is a POST
        answer = self._transport.call("POST", "/scans/find", body=body, retry=True)
        manifests = answer.body.get("manifests") if isinstance(answer.body, dict) else None
        if not isinstance(manifests, list):
            raise UnexpectedResponseError(f"POST /scans/find: no 'manifests' list in {answer.body!r:.200}")
        return manifests

    # ---------------------------------------------------------------- system routes (scanners)

    def patch_manifest(
        self,
        scan_id: str,
        *,
        progress: Mapping[str, JSONValue] | None = None,
        event_metadata: Mapping[str, JSONValue] | None = None,
        scan_metadata: Mapping[str, JSONValue] | None = None,
    ) -> Manifest:
        """``PATCH /scan/{id}/manifest`` (system role): report progress and metadata."""
        body: JSONObject = {}
        for name, value in (
            ("progress", progress),
            ("event_metadata", event_metadata),
            ("scan_metadata", scan_metadata),
        ):
            if value is not None:
                body[name] = dict(value)
        answer = self._transport.call(
            "PATCH", f"/scan/{_checked_id(scan_id)}/manifest", body=body, retry=True
        )
        return _parse(Manifest, answer.body, "PATCH /scan/{id}/manifest")

    def put_result(
        self, scan_id: str, skyscan_result: SkyscanResult | Mapping[str, JSONValue], *, is_final: bool
    ) -> ScanResult | None:
        """``PUT /scan/{id}/result`` (system role): store the whole (partial or final) result.
        NaN is sent as ``"<skyreader.nan>"``. Returns None if the server stored nothing (empty result)."""
        wire = (
            skyscan_result.to_wire()
            if isinstance(skyscan_result, SkyscanResult)
            else encode_nan(skyscan_result)
        )
        body = {"skyscan_result": wire, "is_final": is_final}
        answer = self._transport.call("PUT", f"/scan/{_checked_id(scan_id)}/result", body=body, retry=True)
        return None if answer.body == {} else _parse(ScanResult, answer.body, "PUT /scan/{id}/result")

    def set_workflow_id(self, scan_id: str, workflow_id: str, ewms_address: str) -> Manifest:
        """``POST /scan/{id}/ewms/workflow-id`` (system role): record the workflow running the scan.
        Only once per scan (404 afterwards); not retried, a replay would be refused."""
        body = {"workflow_id": workflow_id, "ewms_address": ewms_address}
        answer = self._transport.call(
            "POST", f"/scan/{_checked_id(scan_id)}/ewms/workflow-id", body=body, retry=False
        )
        return _parse(Manifest, answer.body, "POST /scan/{id}/ewms/workflow-id")

    # ---------------------------------------------------------------- escape hatch and helpers

    def send(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        body: JSONValue = None,
        idempotent: bool = False,
    ) -> JSONValue:
        """Send an arbitrary request (no client-side validation) and return the JSON answer.

        Errors raise the same typed exceptions as the other methods; a 3xx returns None.
        """
        return self._transport.call(method, path, query=query, body=body, retry=idempotent).body

    def wait_for_final_result(
        self,
        scan_id: str,
        *,
        poll_interval_s: float = 30.0,
        timeout_s: float | None = None,
        stall_timeout_s: float = 3600.0,
    ) -> ScanResult:
        """Poll until the scan has its final result.

        Raises :class:`ScanEndedWithoutResultError` if the scan stopped or was deleted without one,
        :class:`ScanStalledError` if neither its state nor its progress changed for
        ``stall_timeout_s`` (SkyDriver often does not mark failures), and
        :class:`ScanWaitTimeoutError` after ``timeout_s``.
        """
        started = last_change = time.monotonic()
        fingerprint: tuple[str, str | None] | None = None
        while True:
            status = self.get_status(scan_id)
            if status.scan_complete:
                result = self.get_result(scan_id, include_deleted=True)
                if result is not None and result.is_final:
                    return result
            state = status.state
            if status.is_deleted or (
                state is not None and state.stopped and state is not ScanState.SCAN_HAS_FINAL_RESULT
            ):
                raise ScanEndedWithoutResultError(
                    scan_id, status.scan_state, "stopped without a final result"
                )
            manifest = self.get_manifest(scan_id, include_deleted=True)
            now_fp = (status.scan_state, manifest.progress.last_updated if manifest.progress else None)
            now = time.monotonic()
            if now_fp != fingerprint:
                fingerprint, last_change = now_fp, now
            elif now - last_change > stall_timeout_s:
                raise ScanStalledError(
                    scan_id, status.scan_state, f"no progress for {now - last_change:.0f} s"
                )
            if timeout_s is not None and now - started > timeout_s:
                raise ScanWaitTimeoutError(
                    scan_id, status.scan_state, f"no final result after {timeout_s:.0f} s"
                )
            self._sleep(poll_interval_s)

    def _get(self, template: str, scan_id: str, query: Mapping[str, QueryValue], follow: bool) -> JSONValue:
        current = _checked_id(scan_id)
        for _ in range(_MAX_REDIRECTS + 1):
            answer = self._transport.call("GET", template.format(current), query=query, retry=True)
            if not 300 <= answer.status < 400:
                return answer.body
            replaced = _replaced("GET", self.base_url + template.format(current), current, answer)
            if not follow:
                raise replaced
            LOG.warning(
                "scan was replaced, following",
                extra={"scan_id": current, "replaced_by_scan_id": replaced.new_scan_id},
            )
            if self.on_replaced is not None:
                self.on_replaced(current, replaced.new_scan_id)
            current = replaced.new_scan_id
        raise UnexpectedResponseError(f"more than {_MAX_REDIRECTS} replacements starting at scan {scan_id}")

    def _mutate(
        self, method: str, template: str, scan_id: str, body: Mapping[str, JSONValue], no_redirect: bool
    ) -> Answer:
        path = template.format(_checked_id(scan_id))
        query: dict[str, QueryValue] = {"no_redirect": True} if no_redirect else {}
        answer = self._transport.call(method, path, query=query, body=dict(body), retry=False)
        if 300 <= answer.status < 400:
            raise _replaced(method, self.base_url + path, scan_id, answer)
        return answer


def _checked_id(scan_id: str) -> str:
    if not isinstance(scan_id, str) or not _SCAN_ID.fullmatch(scan_id):
        raise ScannerValidationError("scan_id", scan_id, "must be letters, digits and underscores")
    return scan_id


def _replaced(method: str, url: str, old_id: str, answer: Answer) -> ReplacedError:
    location = answer.headers.get("Location", "")
    match = _LOCATION_SCAN_ID.search(location)
    if not match:
        raise UnexpectedResponseError(
            f"{method} {url}: HTTP {answer.status} without a scan in Location {location!r}"
        )
    return ReplacedError(method, url, old_id, match.group(1), location)


def _parse(model: type[_M], body: JSONValue, what: str) -> _M:
    try:
        return model.model_validate(body)
    except ValueError as exc:
        raise UnexpectedResponseError(f"{what}: answer does not match the documented shape: {exc}") from None
