"""Shared steps of the contract tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from scanner_client import ScanState, SkyDriverClient
from tests.scanner_contract.conftest import LONG_NSIDES, dummy_request, shared_dir, wait_for_scan


def design_manifest_keys() -> list[str]:
    """The manifest keys, in order, as DESIGN.md lists them ("Manifest keys, in order: ...")."""
    text = (shared_dir() / "DESIGN.md").read_text()
    paragraph = text.split("Manifest keys, in order:", 1)[1].split("\n\n", 1)[0]
    paragraph = re.sub(r"\([^()]*(\([^()]*\)[^()]*)*\)", "", paragraph)  # drop the parenthesised notes
    return re.findall(r"`([a-z0-9_]+)`", paragraph)


@contextmanager
def occupied(client: SkyDriverClient, event: dict[str, Any]) -> Iterator[str]:
    """Keeps the service's only scan slot busy with a running dummy scan (deleted afterwards)."""
    blocker = client.launch_scan(dummy_request(event, LONG_NSIDES)).scan_id
    wait_for_scan(client, blocker, lambda s: s.scan_state.startswith("IN_PROGRESS__"))
    try:
        yield blocker
    finally:
        status = client.get_status(blocker)
        if status.state is not ScanState.SCAN_HAS_FINAL_RESULT and not status.is_deleted:
            client.delete_scan(blocker)
        wait_for_scan(client, blocker, lambda s: s.ewms_deactivated is not None or s.scan_complete)
