"""Every idempotency key of the outbox, made in one place.

A key names one product of one thing, so the same product can never be queued twice; the formats
are stored in production rows and must never change (a changed key would send again).
"""

from __future__ import annotations


def event_ref(run_id: int, event_id: int) -> str:
    """``RUNID_EVENTID``, the prefix of an alert's keys (and the GCN notice ``id``)."""
    return f"{run_id}_{event_id}"


def revision_product(run_id: int, event_id: int, revision: int, alert_type: str, product: str) -> str:
    """A product of one revision of an alert (notice, VOEvent, Slack): initial, update or retraction."""
    return f"{event_ref(run_id, event_id)}:r{revision}:{alert_type}:{product}"


def localization_product(run_id: int, event_id: int, localization_id: int, product: str) -> str:
    """A product of one localization (the shifters' message about a new skymap)."""
    return f"{event_ref(run_id, event_id)}:loc{localization_id}:{product}"


def mirrored_notice_product(
    run_id: int, event_id: int, record_number: int, alert_type: str, product: str
) -> str:
    """A product about a mirrored GCN notice of an alert."""
    return f"{event_ref(run_id, event_id)}:gcn{record_number}:{alert_type}:{product}"


def retraction_product(run_id: int, event_id: int, product: str) -> str:
    return f"{event_ref(run_id, event_id)}:retraction:{product}"


def circular_submission(circular_id: int) -> str:
    return f"circular:{circular_id}"


def circular_product(circular_id: int, product: str) -> str:
    return f"circular:{circular_id}:{product}"


def scan_milestone(scan_id: int, milestone: str, suffix: str = "") -> str:
    return f"scan:{scan_id}:{milestone}{suffix}"


def outbox_dead(row_id: int, attempts: int) -> str:
    """The shifters' message that a row was given up after ``attempts``."""
    return f"outbox-dead:{row_id}:{attempts}"


#: the kind of the shifters' warning that the archive cannot be written (the archive tells it, the record
#: of trouble finds it)
ARCHIVE_UNWRITABLE = "archive-unwritable"


def shifters_warning(kind: str, slot: int) -> str:
    """A paced warning to the shifters (``kind`` e.g. ``broker-unreachable``): one per ``slot``
    (the time divided by ``shifters_repeat_s``), so a lasting fault is told once per period."""
    return f"shifters:{kind}:{slot}"


def heartbeat_failure(heartbeat_id: int, state: str) -> str:
    """The shifters' message that heartbeat ``heartbeat_id`` came back wrong or not at all."""
    return f"heartbeat:{heartbeat_id}:{state}"


def slack_digest(kind: str, window_start: str) -> str:
    """The one Slack message of window ``window_start`` (``YYYYmmddTHHMMSSZ``) about operational
    messages of ``kind`` (``dead_letters``, ``outbox_dead``, ``input_stream``): one per window."""
    return f"digest:{kind}:{window_start}"


def dead_letter(letter_id: int, attempts: int) -> str:
    """The shifters' message that an input became dead letter ``letter_id`` (``attempts``: handlings)."""
    return f"dead-letter:{letter_id}:{attempts}"


def input_stream_event(kind: str, topic: str, partition: int, offset: int, detail: str = "") -> str:
    """The shifters' message about the input stream at one position: ``kind`` is ``offset-reused``
    (with the new bytes' hash as ``detail``), ``offset-reset``, ``offsets-skipped``,
    ``undeliverable`` or ``cluster-changed`` (partition -1, the new cluster id as ``detail``)."""
    return f"input:{kind}:{topic}/{partition}/{offset}" + (f":{detail}" if detail else "")


def doi_registration(doi: str, content_sha256: str) -> str:
    """One registration of one DOI with one content (a changed record is registered again)."""
    return f"doi:{doi}:{content_sha256[:16]}"
