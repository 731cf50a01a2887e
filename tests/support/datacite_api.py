"""A local HTTP stand-in for DataCite's REST API (``PUT /dois/{doi}``), as strict as DataCite:
basic auth, the JSON:API media type, ``data.type`` ``dois`` and ``data.id`` equal to the DOI in the
path, and ``data.attributes`` valid against DataCite's JSON schema (the ``datacite`` package's). It
keeps each DOI's state (``draft`` without an event, ``findable`` after ``publish``: a findable DOI
never goes back to draft), records every accepted body, and can fail the next N requests with 500.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from skymist.archive.datacite_meta import validate_datacite


class DataCiteStandIn:
    def __init__(self, username: str = "TEST.SKYMIST", password: str = "s3cret") -> None:
        self.username, self.password = username, password
        self.lock = threading.Lock()
        self.accepted: list[tuple[str, dict[str, Any]]] = []  # (doi, attributes) of every accepted PUT
        self.refused: list[str] = []
        self.dois: dict[str, dict[str, Any]] = {}  # doi -> latest attributes, with "state"
        self.fail_next = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, document: Any) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.api+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _refuse(self, status: int, why: str) -> None:
                with stand_in.lock:
                    stand_in.refused.append(why)
                self._reply(status, {"errors": [{"status": str(status), "title": why}]})

            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with stand_in.lock:
                    if stand_in.fail_next > 0:
                        stand_in.fail_next -= 1
                        self._reply(500, {"errors": [{"status": "500", "title": "try later"}]})
                        return
                expected = base64.b64encode(f"{stand_in.username}:{stand_in.password}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    self._refuse(401, "bad credentials")
                    return
                if self.headers.get("Content-Type") != "application/vnd.api+json":
                    self._refuse(415, f"Content-Type {self.headers.get('Content-Type')!r}")
                    return
                if not self.path.startswith("/dois/"):
                    self._refuse(404, self.path)
                    return
                doi = unquote(self.path[len("/dois/") :])
                try:
                    data = json.loads(body)["data"]
                    attributes = dict(data["attributes"])
                except (ValueError, KeyError, TypeError) as exc:
                    self._refuse(400, f"not a JSON:API body ({exc})")
                    return
                if data.get("type") != "dois" or data.get("id") != doi or attributes.get("doi") != doi:
                    self._refuse(422, "data.type must be dois and data.id the DOI of the path")
                    return
                problems = validate_datacite(attributes)
                if problems:
                    self._refuse(422, "; ".join(problems))
                    return
                with stand_in.lock:
                    previous = stand_in.dois.get(doi)
                    state = "findable" if attributes.get("event") == "publish" else "draft"
                    if previous is not None and previous["state"] == "findable":
                        state = "findable"
                    created = previous is None
                    stand_in.dois[doi] = {**attributes, "state": state}
                    stand_in.accepted.append((doi, attributes))
                self._reply(
                    201 if created else 200,
                    {"data": {"id": doi, "type": "dois", "attributes": {"state": state}}},
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> DataCiteStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
