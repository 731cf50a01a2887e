"""What a human does to dead letters (``skymist dead-letter replay|discard`` and the console):

* replay: the stored message is handled again (after a fix); it leaves the record when it succeeds;
* discard: an open dead letter is closed for good, with who and why (kept with it and audited).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from skymist import audit
from skymist.app import App
from skymist.ingest.inbox import Ingestor, IngestResult
from skymist.states import DeadLetterState, check_transition
from skymist.store.models import DeadLetter


class DeadLetterError(ValueError):
    """A replay or discard that cannot be done as asked (the message names the dead letter)."""


def _open_letter(session: Session, letter_id: int, verb: str) -> DeadLetter:
    letter = session.get(DeadLetter, letter_id, with_for_update=True)
    if letter is None:
        raise DeadLetterError(f"no dead letter with id {letter_id}")
    if letter.state != DeadLetterState.OPEN:
        raise DeadLetterError(
            f"dead letter {letter_id} is already {letter.state.value}; only open ones can be {verb}"
        )
    return letter


def _audit(session: Session, letter: DeadLetter, action: str, by: str, reason: str | None) -> None:
    audit.record(
        session,
        actor=by,
        action=action,
        subject_kind="dead_letter",
        subject_id=letter.id,
        alert_id=None,
        reason=reason,
        details={"source": letter.source},
    )


def replay_letter(
    app: App, ingestor: Ingestor, letter_id: int, *, by: str | None = None, reason: str | None = None
) -> IngestResult:
    """Handle the dead letter's stored message again (one transaction); audited when ``by`` is given.
    The result's status is ``dead_letter`` when it still fails (the letter stays open)."""
    with app.sessions() as session, session.begin():
        letter = _open_letter(session, letter_id, "replayed")
        if letter.inbox_id is None:
            raise DeadLetterError(f"dead letter {letter_id} has no inbox message to replay")
        result = ingestor.replay_stored(session, letter.inbox_id)
        if by is not None:
            _audit(session, letter, "dead_letter_replayed", by, reason)
        return result


def discard_letters(session: Session, ids: Sequence[int], *, by: str, reason: str) -> list[int]:
    """Close these open dead letters for good (in the caller's transaction); audited."""
    why = " ".join(reason.split())
    if not why:
        raise DeadLetterError("reason = '': a discard needs a reason")
    letters = [_open_letter(session, letter_id, "discarded") for letter_id in ids]
    for letter in letters:
        letter.state = check_transition(letter.state, DeadLetterState.DISCARDED)
        letter.reason = f"{letter.reason} [discarded by {by}: {why}]"
        _audit(session, letter, "dead_letter_discarded", by, why)
    return [letter.id for letter in letters]
