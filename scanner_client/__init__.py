"""Typed, wire-compatible client of the SkyDriver REST API (v2.4.x).

>>> from scanner_client import SkyDriverClient, LaunchScanRequest
>>> client = SkyDriverClient("https://skydriver.icecube.aq", token="...")  # doctest: +SKIP
>>> manifest = client.launch_scan(LaunchScanRequest(...))  # doctest: +SKIP
"""

from scanner_client.auth import ClientCredentials, StaticToken, TokenSource
from scanner_client.client import DEFAULT_REQUEST_KEY_FIELD, RawResult, SkyDriverClient, new_request_key
from scanner_client.errors import (
    AuthError,
    BadRequestError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    ReplacedError,
    ScanEndedWithoutResultError,
    ScannerError,
    ScannerHTTPError,
    ScannerTransportError,
    ScannerValidationError,
    ScanStalledError,
    ScanWaitError,
    ScanWaitTimeoutError,
    ServerError,
    TokenError,
    UnexpectedResponseError,
    UnprocessableError,
)
from scanner_client.models import (
    MANIFEST_KEYS,
    EventMetadata,
    LaunchScanRequest,
    Manifest,
    ProcessingStats,
    Progress,
    ScanRequestRecord,
    ScanResult,
    ScanState,
    ScanStatus,
    ScanWithResult,
)
from scanner_client.retry import RetryPolicy
from scanner_client.skyscan_result import NAN_SENTINEL, BestPixel, NsideResult, SkyscanResult

__all__ = [
    "DEFAULT_REQUEST_KEY_FIELD",
    "MANIFEST_KEYS",
    "NAN_SENTINEL",
    "AuthError",
    "BadRequestError",
    "BestPixel",
    "ClientCredentials",
    "EventMetadata",
    "LaunchScanRequest",
    "Manifest",
    "NotFoundError",
    "NsideResult",
    "OutcomeUnknownError",
    "ProcessingStats",
    "Progress",
    "RateLimitedError",
    "RawResult",
    "ReplacedError",
    "RetryPolicy",
    "ScanEndedWithoutResultError",
    "ScanRequestRecord",
    "ScanResult",
    "ScanStalledError",
    "ScanState",
    "ScanStatus",
    "ScanWaitError",
    "ScanWaitTimeoutError",
    "ScanWithResult",
    "ScannerError",
    "ScannerHTTPError",
    "ScannerTransportError",
    "ScannerValidationError",
    "ServerError",
    "SkyDriverClient",
    "SkyscanResult",
    "StaticToken",
    "TokenError",
    "TokenSource",
    "UnexpectedResponseError",
    "UnprocessableError",
    "new_request_key",
]
