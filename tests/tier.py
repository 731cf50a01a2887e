"""The sizes of the suites that can run long (kill -9, fuzz, soak), chosen by one setting.

``SKYMIST_TEST_TIER`` is ``quick`` (the default: the README's test command, sizes that still show
the property, e.g. 200 alerts and 5 kills) or ``long`` (the full sizes; `.ci/run` runs that tier
after the README's command when its time allows). A size given by its own variable (e.g.
``SKYMIST_CHAOS_ALERTS``) wins over the tier.
"""

from __future__ import annotations

import os

TIERS = ("quick", "long")


def tier() -> str:
    value = os.environ.get("SKYMIST_TEST_TIER", "quick").strip().lower() or "quick"
    if value not in TIERS:
        raise ValueError(f"SKYMIST_TEST_TIER = {value!r}: must be one of {', '.join(TIERS)}")
    return value


def long_tier() -> bool:
    return tier() == "long"


def size(quick: int, long: int, variable: str | None = None) -> int:
    """``quick`` or ``long`` by the tier; ``variable`` (an environment variable) overrides both."""
    if variable is not None and os.environ.get(variable, "").strip():
        return int(os.environ[variable])
    return long if long_tier() else quick
