"""Which Slack messages come first: the alert class before the operational class.

The class of a Slack outbox row follows from its ``product`` column (no schema change):

- ``operational``: what the daemon tells about itself and its inputs — dead letters
  (``slack_dead_letter``), rows the outbox gave up (``slack_outbox_dead``), input-stream trouble
  (``slack_input_stream``), health warnings (``slack_ops``: heartbeat, store or broker unreachable,
  archive) and the digests that fold them (``slack_digest``);
- ``alert``: everything else — alert revisions, mirrored notices, scan milestones, skymaps, the
  Circulars to approve, retractions. A product not listed as operational is of the alert class, so a
  new kind of message is never starved by mistake.

The dispatcher claims the alert class first and gives the operational class at most
``slack_operational_max_per_minute`` of ``slack_max_per_minute``, so no alert message waits behind
operational ones (see :mod:`skymist.outbox.slack_digest` for how operational floods are folded).
"""

from __future__ import annotations

import enum

#: the product of a digest of operational messages (one per window and kind)
DIGEST_PRODUCT = "slack_digest"


class SlackClass(enum.StrEnum):
    ALERT = "alert"
    OPERATIONAL = "operational"


#: the products of the operational class
OPERATIONAL_PRODUCTS = frozenset(
    {"slack_dead_letter", "slack_outbox_dead", "slack_input_stream", "slack_ops", DIGEST_PRODUCT}
)


def slack_class(product: str) -> SlackClass:
    """The class of a Slack row's ``product``."""
    return SlackClass.OPERATIONAL if product in OPERATIONAL_PRODUCTS else SlackClass.ALERT
