"""A record's RO-Crate checked with other people's tools, offline.

* :func:`crate_problems`: the community validator (``rocrate-validator``, PyPI ``roc-validator``)
  with the ``ro-crate-1.3`` profile at the RECOMMENDED level (REQUIRED included), in its own offline
  mode (``offline=True``: every HTTP resource is served from its HTTP cache, a miss is an error). The
  cache is pre-loaded with the one resource a record needs, the RO-Crate 1.3 JSON-LD context, taken
  from the installed ``rocrate`` package (ro-crate-py ships it): no request leaves the machine.
* :func:`non_schema_org_terms`: every property and type of a JSON-LD document that is not a schema.org
  term of the vocabulary ro-crate-py ships (``rocrate/data/schema.jsonld``).
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

#: the JSON-LD context of RO-Crate 1.3 (what ``ro-crate-metadata.json`` names)
RO_CRATE_CONTEXT = "https://w3id.org/ro/crate/1.3/context"
#: RO-Crate's own terms besides schema.org: the metadata descriptor's profile (``conformsTo``) and
#: ``File``, RO-Crate's name for schema.org's ``MediaObject``
RO_CRATE_TERMS = frozenset({"conformsTo", "File"})


@lru_cache(maxsize=1)
def offline_cache() -> Path:
    """An HTTP cache (requests-cache, SQLite, as the validator keeps it) holding the RO-Crate 1.3
    context from the installed ro-crate-py, as if fetched from w3id.org."""
    import requests
    import urllib3
    from requests_cache import CachedSession

    path = Path(tempfile.mkdtemp(prefix="skymist-rocrate-cache-")) / "http_cache"
    session = CachedSession(str(path), backend="sqlite", expire_after=-1, allowable_codes=(200, 302, 404))
    body = (resources.files("rocrate") / "data" / "ro-crate.jsonld").read_bytes()
    for url in (RO_CRATE_CONTEXT, RO_CRATE_CONTEXT.replace("https://", "http://")):
        response = requests.Response()
        response.status_code = 200
        response.url = url
        response.headers["Content-Type"] = "application/ld+json"
        response._content = body
        response.encoding = "utf-8"
        response.request = requests.Request("GET", url).prepare()
        response.raw = urllib3.HTTPResponse(
            body=io.BytesIO(body),
            headers={"Content-Type": "application/ld+json"},
            status=200,
            preload_content=False,
            request_url=url,
        )
        session.cache.save_response(response)
    session.close()  # type: ignore[no-untyped-call]  # (requests-cache has no annotations here)
    return path


def crate_problems(folder: Path) -> list[str]:
    """The issues ``rocrate-validator`` finds in the record's RO-Crate (``<folder>/data``), at the
    RECOMMENDED level of the ro-crate-1.3 profile, offline; empty when it passes."""
    from rocrate_validator import models, services

    settings = models.ValidationSettings(
        rocrate_uri=str(folder / "data"),
        profile_identifier="ro-crate-1.3",
        requirement_severity=models.Severity.RECOMMENDED,
        offline=True,
        cache_path=offline_cache(),
        # offline, the validator's own switch for its availability checks (HTTP requests to remote
        # URLs the crate names, such as whether the DOI resolves): none can be made here
        skip_availability_check=True,
    )
    result = services.validate(settings)
    return [
        f"{issue.check.identifier if issue.check else '?'} ({issue.severity.name}): {issue.message}"
        for issue in result.get_issues()
    ]


def schema_org_vocabulary() -> frozenset[str]:
    """The terms (properties and types) of schema.org as ro-crate-py ships the vocabulary."""
    document = json.loads((resources.files("rocrate") / "data" / "schema.jsonld").read_bytes())
    return frozenset(
        entry["@id"].split(":", 1)[1] for entry in document["@graph"] if entry["@id"].startswith("schema:")
    )


def _terms(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _terms(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "@type":
                yield from (item if isinstance(item, list) else [item])
            elif not key.startswith("@"):
                yield key
                yield from _terms(item)


def non_schema_org_terms(document: dict[str, Any], allowed: frozenset[str] = frozenset()) -> list[str]:
    """The keys and types of ``document`` (its ``@context`` left out) that schema.org does not
    define, less ``allowed``."""
    vocabulary = schema_org_vocabulary() | allowed
    body = {key: value for key, value in document.items() if key != "@context"}
    return sorted({term for term in _terms(body) if term not in vocabulary})
