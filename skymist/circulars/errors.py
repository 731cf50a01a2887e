"""Errors of human actions on alerts and Circulars (each names the record or field and the value)."""

from __future__ import annotations

from skymist.audit import ActionError as ActionError  # where the commands find it


class CircularError(ActionError):
    """A Circular action that cannot be done (no draft, wrong state...)."""


class CircularFormatError(CircularError):
    """A rendered Circular, or text for one, breaks one of GCN's format rules."""


class AlertNotFoundError(LookupError):
    """No alert matches the reference given."""
