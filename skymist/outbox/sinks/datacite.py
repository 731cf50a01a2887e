"""The DataCite sink: register or update a DOI through DataCite's REST API (JSON:API body).

Each row is one ``PUT {api}/dois/{doi}`` with the whole record (``data.attributes``; ``event``
``publish`` makes it findable, no event leaves a draft). PUT creates or replaces: sending the same
row again has the same effect, so an in-doubt row is simply sent again (exactly-once effect). A 422
(the record is invalid) or 401/403 is permanent; 429 and 5xx are retried. The password is never in
an error or a log line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import requests

from skymist.outbox.sinks.base import OutboxItem, SendResult

SINK_DATACITE = "datacite"
MEDIA_TYPE = "application/vnd.api+json"


class DataCiteSink:
    name = SINK_DATACITE

    def __init__(
        self,
        api_url: str,
        username: str,
        password: str,
        timeout_s: float,
        session: requests.Session | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._auth = (username, password)
        self.timeout_s = timeout_s
        self.http = session or requests.Session()

    def hint(self, item_destination: str) -> dict[str, Any] | None:
        return None

    def send(self, items: Sequence[OutboxItem]) -> list[SendResult]:
        return [self._put(item) for item in items]

    def _put(self, item: OutboxItem) -> SendResult:
        url = f"{self.api_url}/dois/{quote(item.destination, safe='/')}"
        try:
            response = self.http.put(
                url,
                data=item.payload,
                auth=self._auth,
                headers={"Content-Type": MEDIA_TYPE, "Accept": MEDIA_TYPE},
                timeout=self.timeout_s,
            )
        except requests.Timeout:
            return SendResult(False, error="DataCite API: timeout", undecided=True)
        except requests.RequestException as exc:
            return SendResult(False, error=f"DataCite API: {type(exc).__name__}")
        if response.status_code in (200, 201):
            try:
                state = response.json()["data"]["attributes"]["state"]
            except (ValueError, KeyError, TypeError):
                state = "?"
            return SendResult(True, delivery_ref=f"datacite:{item.destination}:{state}")
        body = response.text[:300].replace("\n", " ")
        retryable = response.status_code == 429 or response.status_code >= 500
        return SendResult(
            False, error=f"DataCite API HTTP {response.status_code}: {body}", permanent=not retryable
        )

    def verify(self, item: OutboxItem) -> bool | None:
        return False  # PUT is idempotent: an in-doubt registration is sent again

    def close(self) -> None:
        self.http.close()
