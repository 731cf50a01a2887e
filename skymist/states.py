"""Explicit state machines: an enum per entity plus the table of allowed transitions.

A transition that is not in the table is a bug: :func:`check_transition` raises
:class:`IllegalTransitionError` (the helper of :mod:`skybase.states`). States are stored as their
string values.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

from skybase.states import IllegalTransitionError, checked

S = TypeVar("S", bound=enum.StrEnum)

__all__ = ["IllegalTransitionError", "check_transition"]


class InboxState(enum.StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    DEAD_LETTER = "dead_letter"


class AlertState(enum.StrEnum):
    RECORDED = "recorded"  # unclassified event: stored, scannable on request, no public products
    MIRRORED = "mirrored"  # a public alert seen as a GCN notice: stored, shifters told
    PROMPT_QUEUED = "prompt_queued"  # Rev 0 products are in the outbox
    PROMPT_SENT = "prompt_sent"  # every Rev 0 product was delivered
    LOCALIZED_PENDING = "localized_pending"  # a final scan result is stored, waiting for the skymap step
    LOCALIZED = "localized"  # the skymap is analysed and the refined products are queued
    RETRACTED = "retracted"


class ScanState(enum.StrEnum):
    PLANNED = "planned"  # to be submitted to the scanner backend
    SUBMITTED = "submitted"  # the backend accepted it (has a backend scan id)
    RUNNING = "running"  # the backend reports progress
    PARTIAL = "partial"  # a partial result is stored
    FINAL = "final"  # the final result is stored verbatim
    FAILED = "failed"  # gave up (deadline, too many rescans, backend refused); shifters told
    ABORTED = "aborted"  # stopped on purpose (operator, retraction)
    SUPERSEDED = "superseded"  # replaced by a newer scan row of the same plan entry


class CircularState(enum.StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"  # a human approved it; being submitted (or written as a ready-to-send file)
    SUBMITTED = "submitted"  # accepted by the GCN Circulars API (or written out when submission is off)
    REJECTED = "rejected"  # a human rejected it (with a reason)
    SUPERSEDED = "superseded"  # a newer draft (rescan, retraction) replaced it before it was sent


class OutboxState(enum.StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a dispatcher until lease_until
    SENT = "sent"
    DEAD = "dead"  # gave up after the maximum attempts; shifters are told
    CANCELLED = "cancelled"  # superseded (retraction, human action) before it was sent


class DeadLetterState(enum.StrEnum):
    OPEN = "open"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


INBOX_TRANSITIONS: Mapping[InboxState, frozenset[InboxState]] = {
    InboxState.RECEIVED: frozenset({InboxState.PROCESSED, InboxState.DUPLICATE, InboxState.DEAD_LETTER}),
    InboxState.DEAD_LETTER: frozenset(
        {InboxState.PROCESSED, InboxState.DUPLICATE, InboxState.DEAD_LETTER}
    ),  # dead-letter replay
    InboxState.PROCESSED: frozenset(),
    InboxState.DUPLICATE: frozenset(),
}

ALERT_TRANSITIONS: Mapping[AlertState, frozenset[AlertState]] = {
    AlertState.RECORDED: frozenset(
        {AlertState.PROMPT_QUEUED, AlertState.LOCALIZED_PENDING, AlertState.RETRACTED}
    ),
    # the realtime alert of an event first seen as a mirrored GCN notice takes the alert over
    AlertState.MIRRORED: frozenset({AlertState.PROMPT_QUEUED, AlertState.RETRACTED}),
    AlertState.PROMPT_QUEUED: frozenset(
        {AlertState.PROMPT_SENT, AlertState.LOCALIZED_PENDING, AlertState.RETRACTED}
    ),
    AlertState.PROMPT_SENT: frozenset({AlertState.LOCALIZED_PENDING, AlertState.RETRACTED}),
    AlertState.LOCALIZED_PENDING: frozenset({AlertState.LOCALIZED, AlertState.RETRACTED}),
    AlertState.LOCALIZED: frozenset({AlertState.LOCALIZED_PENDING, AlertState.RETRACTED}),  # a rescan
    AlertState.RETRACTED: frozenset(),
}

SCAN_TRANSITIONS: Mapping[ScanState, frozenset[ScanState]] = {
    ScanState.PLANNED: frozenset({ScanState.SUBMITTED, ScanState.FAILED, ScanState.ABORTED}),
    ScanState.SUBMITTED: frozenset(
        {
            ScanState.RUNNING,
            ScanState.PARTIAL,
            ScanState.FINAL,
            ScanState.FAILED,
            ScanState.ABORTED,
            ScanState.SUPERSEDED,
            ScanState.SUBMITTED,
        }  # SUBMITTED -> SUBMITTED: a rescan replaced the backend id
    ),
    ScanState.RUNNING: frozenset(
        {
            ScanState.PARTIAL,
            ScanState.FINAL,
            ScanState.FAILED,
            ScanState.ABORTED,
            ScanState.SUPERSEDED,
            ScanState.SUBMITTED,
        }
    ),
    ScanState.PARTIAL: frozenset(
        {ScanState.FINAL, ScanState.FAILED, ScanState.ABORTED, ScanState.SUPERSEDED, ScanState.SUBMITTED}
    ),
    ScanState.FINAL: frozenset({ScanState.SUPERSEDED}),
    ScanState.FAILED: frozenset({ScanState.PLANNED, ScanState.SUPERSEDED}),  # an operator's rescan
    ScanState.ABORTED: frozenset({ScanState.PLANNED, ScanState.SUPERSEDED}),
    ScanState.SUPERSEDED: frozenset(),
}

CIRCULAR_TRANSITIONS: Mapping[CircularState, frozenset[CircularState]] = {
    CircularState.AWAITING_APPROVAL: frozenset(
        {CircularState.APPROVED, CircularState.REJECTED, CircularState.SUPERSEDED}
    ),
    # a retraction after approval supersedes an approved Circular that was not sent yet
    CircularState.APPROVED: frozenset({CircularState.SUBMITTED, CircularState.SUPERSEDED}),
    CircularState.SUBMITTED: frozenset(),
    CircularState.REJECTED: frozenset(),
    CircularState.SUPERSEDED: frozenset(),
}

OUTBOX_TRANSITIONS: Mapping[OutboxState, frozenset[OutboxState]] = {
    OutboxState.PENDING: frozenset({OutboxState.SENDING, OutboxState.CANCELLED}),
    OutboxState.SENDING: frozenset(
        {OutboxState.SENT, OutboxState.PENDING, OutboxState.DEAD, OutboxState.CANCELLED}
    ),
    OutboxState.DEAD: frozenset({OutboxState.PENDING, OutboxState.CANCELLED}),
    OutboxState.SENT: frozenset(),
    OutboxState.CANCELLED: frozenset(),
}

DEAD_LETTER_TRANSITIONS: Mapping[DeadLetterState, frozenset[DeadLetterState]] = {
    DeadLetterState.OPEN: frozenset({DeadLetterState.REPLAYED, DeadLetterState.DISCARDED}),
    DeadLetterState.REPLAYED: frozenset(),
    DeadLetterState.DISCARDED: frozenset(),
}


class TroubleState(enum.StrEnum):
    """An item of the record of trouble (skymist.store.trouble_models)."""

    OPEN = "open"  # waits for a human (counted by ``skymist check``)
    ACKNOWLEDGED = "acknowledged"  # a shifter has seen it (with a reason): listed, no longer counted
    RESOLVED = "resolved"  # its cause is gone (replayed, retried, cancelled, sent): off the record


TROUBLE_TRANSITIONS: Mapping[TroubleState, frozenset[TroubleState]] = {
    TroubleState.OPEN: frozenset({TroubleState.ACKNOWLEDGED, TroubleState.RESOLVED}),
    TroubleState.ACKNOWLEDGED: frozenset({TroubleState.RESOLVED}),
    # the same cause again (a retried outbox row given up again, a hand-off failing after its retry)
    TroubleState.RESOLVED: frozenset({TroubleState.OPEN}),
}


class HeartbeatState(enum.StrEnum):
    SENT = "sent"  # the synthetic alert is on its input topic
    RECEIVED = "received"  # every notice it caused was read back with the bytes the outbox sent
    MISMATCH = "mismatch"  # a read-back differs from what the outbox sent
    MISSING = "missing"  # not all read back within heartbeat_timeout_s


HEARTBEAT_TRANSITIONS: Mapping[HeartbeatState, frozenset[HeartbeatState]] = {
    HeartbeatState.SENT: frozenset(
        {HeartbeatState.RECEIVED, HeartbeatState.MISMATCH, HeartbeatState.MISSING}
    ),
    # a late read-back still settles a missing beat (it counts as received, late)
    HeartbeatState.MISSING: frozenset({HeartbeatState.RECEIVED, HeartbeatState.MISMATCH}),
    HeartbeatState.RECEIVED: frozenset(),
    HeartbeatState.MISMATCH: frozenset(),
}

_TABLES: dict[type[enum.StrEnum], Mapping[object, frozenset[object]]] = {
    HeartbeatState: HEARTBEAT_TRANSITIONS,  # type: ignore[dict-item]
    InboxState: INBOX_TRANSITIONS,  # type: ignore[dict-item]
    AlertState: ALERT_TRANSITIONS,  # type: ignore[dict-item]
    OutboxState: OUTBOX_TRANSITIONS,  # type: ignore[dict-item]
    DeadLetterState: DEAD_LETTER_TRANSITIONS,  # type: ignore[dict-item]
    ScanState: SCAN_TRANSITIONS,  # type: ignore[dict-item]
    CircularState: CIRCULAR_TRANSITIONS,  # type: ignore[dict-item]
    TroubleState: TROUBLE_TRANSITIONS,  # type: ignore[dict-item]
}


def check_transition(current: S, new: S) -> S:
    """Return ``new`` if ``current -> new`` is in the table of ``current``'s machine, else raise."""
    table: Mapping[S, frozenset[S]] = _TABLES[type(current)]  # type: ignore[assignment]
    return checked(table, current, new)
