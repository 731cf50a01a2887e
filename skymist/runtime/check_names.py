"""The names of the health checks, in the order ``skymist check`` reports them.

Apart from the checks themselves (:mod:`skymist.runtime.checks`, which load the store's models) so
that ``skymist check --help`` lists them without loading anything; a test keeps both the same.
"""

from __future__ import annotations

CHECK_NAMES: tuple[str, ...] = (
    "store",
    "broker",
    "input",
    "outbox",
    "dead_letters",
    "scans",
    "trouble",
    "scanner",
    "heartbeat",
    "loopback",
    "disk",
)
