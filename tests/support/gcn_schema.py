"""The official GCN notice schemas, from the npm package @nasa-gcn/schema (fetched by the test setup)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

VERSION = "7.2.3"
NOTICE_SCHEMA = "gcn/notices/icecube/single_neutrino_alerts.schema.json"


def schema_root() -> Path:
    """The unpacked package, fetched once into the cache (under a lock: parallel test workers share it)."""
    cache = Path(os.environ.get("SKYMIST_TEST_CACHE", Path.home() / ".cache" / "skymist-tests"))
    root = cache / f"nasa-gcn-schema-{VERSION}" / "package"
    if (root / NOTICE_SCHEMA).is_file():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".fetch.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / NOTICE_SCHEMA).is_file():  # another worker fetched it while this one waited
            return root
        subprocess.run(
            ["npm", "pack", f"@nasa-gcn/schema@{VERSION}", "--silent"],
            cwd=cache,
            check=True,
            capture_output=True,
            timeout=300,
        )
        with tarfile.open(cache / f"nasa-gcn-schema-{VERSION}.tgz") as tar:
            tar.extractall(cache / f"nasa-gcn-schema-{VERSION}", filter="data")
    return root


def notice_validator() -> tuple[Draft202012Validator, set[str]]:
    """A validator of IceCube's notice schema with every referenced schema registered, and the set of
    property names the schema tree defines (to catch misspelt keys, which the schema would allow)."""
    root = schema_root()
    resources = []
    properties: set[str] = set()
    for path in (root / "gcn").rglob("*.schema.json"):
        document: dict[str, Any] = json.loads(path.read_text())
        resources.append((document["$id"], Resource.from_contents(document)))
    registry = Registry().with_resources(resources)
    schema = json.loads((root / NOTICE_SCHEMA).read_text())

    def collect(node: Any, base: str) -> None:
        if isinstance(node, dict):
            if "$ref" in node and isinstance(node["$ref"], str) and not node["$ref"].startswith("#"):
                target = registry.resolver(base).lookup(node["$ref"])
                collect(target.contents, target.resolver._base_uri)
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    properties.update(value)
                collect(value, base)
        elif isinstance(node, list):
            for item in node:
                collect(item, base)

    collect(schema, schema["$id"])
    return Draft202012Validator(schema, registry=registry), properties
