"""Errors of the skymap step (each names the alert, the field and the value at fault)."""

from __future__ import annotations


class LocalizationError(ValueError):
    """A final scan result that cannot become a localization of its alert."""
