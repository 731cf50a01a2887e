"""Errors of the archive step (each message names the alert, the file or the field)."""

from __future__ import annotations


class ArchiveError(RuntimeError):
    """The archive record of an alert cannot be made as asked (the message says why)."""
