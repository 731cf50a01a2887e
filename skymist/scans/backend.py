"""The scanner backend client, built from settings."""

from __future__ import annotations

from scanner_client import ClientCredentials, RetryPolicy, SkyDriverClient
from skymist.config import Settings
from skymist.outbox.sinks.factory import SettingsError


def make_scanner_client(settings: Settings) -> SkyDriverClient:
    """A client of SkyDriver or ``skyscan serve``. Retries inside one call are few and short: the scan
    tracker itself comes back later with a growing backoff, so one tick never blocks long."""
    retry = RetryPolicy(max_attempts=2, base_delay_s=0.2, max_delay_s=1.0)
    if settings.scanner_oauth_token_url:
        if not settings.scanner_oauth_client_id or settings.scanner_oauth_client_secret is None:
            raise SettingsError(
                "scanner_oauth_token_url is set, but scanner_oauth_client_id or "
                "scanner_oauth_client_secret is not"
            )
        auth = ClientCredentials(
            settings.scanner_oauth_token_url,
            settings.scanner_oauth_client_id,
            settings.scanner_oauth_client_secret,
        )
        return SkyDriverClient(
            settings.scanner_url, auth=auth, retry=retry, read_timeout_s=settings.scanner_timeout_s
        )
    return SkyDriverClient(
        settings.scanner_url,
        token=settings.scanner_token,
        retry=retry,
        read_timeout_s=settings.scanner_timeout_s,
        dedupe_settle_s=0.5,
    )
