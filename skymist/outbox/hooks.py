"""The outbox's hooks: what the domain asks to be told, registered from outside (the outbox never
imports the domain).

* ``before_send`` hooks run in the claiming transaction, right before rows go out (the state is
  re-read there): each returns ``{row id: reason}`` for rows that must not be sent any more, which
  the dispatcher cancels with that reason (e.g. the products of an alert retracted meanwhile).
* ``after_sent`` hooks run in the transaction that records rows as sent, with those rows (e.g. an
  alert's prompt products all delivered, a Circular submitted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from skymist.store.models import OutboxRow

BeforeSend = Callable[[Session, Sequence[OutboxRow]], Mapping[int, str]]
AfterSent = Callable[[Session, Sequence[OutboxRow], dt.datetime], object]


@dataclass
class OutboxHooks:
    """The registered hooks, called in registration order."""

    before_send: list[BeforeSend] = field(default_factory=list)
    after_sent: list[AfterSent] = field(default_factory=list)

    def vetoes(self, session: Session, rows: Sequence[OutboxRow]) -> dict[int, str]:
        """Rows that must not go out, with why (the first hook's reason wins)."""
        cancelled: dict[int, str] = {}
        if not rows:
            return cancelled
        for hook in self.before_send:
            for row_id, reason in hook(session, rows).items():
                cancelled.setdefault(row_id, reason)
        return cancelled

    def sent(self, session: Session, rows: Sequence[OutboxRow], now: dt.datetime) -> None:
        if rows:
            for hook in self.after_sent:
                hook(session, rows, now)
