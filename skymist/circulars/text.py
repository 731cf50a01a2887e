"""GCN's format rules for a Circular, checked before a draft is stored.

* the subject starts with the event name (``IceCube-YYMMDDA``), so GCN files it under the event, and
  holds none of the words GCN rejects as auto-replies (``draft``, ``re:``, ``fwd:``...);
* the body is plain ASCII, shorter than 60 lines, and never wrapped by hand: a paragraph is one line;
  only "Field: value" blocks (Date, Time, RA, Dec) span several consecutive lines.

A rendered Circular template is ``SUBJECT: <subject>``, one blank line, then the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from skymist.alert_names import ALERT_NAME
from skymist.circulars.errors import CircularFormatError

MAX_LINES = 59  # "generally less than 60 lines"
MAX_SUBJECT_CHARS = 300
SUBJECT_PREFIX = "SUBJECT: "
#: substrings that make GCN reject a subject as an e-mail auto-reply (case-insensitive)
FORBIDDEN_SUBJECT_WORDS: tuple[str, ...] = ("draft", "re:", "fwd:", "subject:", "vacation", "auto reply")
#: a subject starts with a public alert name (the one pattern of :mod:`skymist.alert_names`)
EVENT_NAME = re.compile(rf"(?:{ALERT_NAME.pattern})(?![A-Za-z0-9])", re.ASCII)
FIELD_LINE = re.compile(r"^[A-Z][A-Za-z]{0,15}: \S")


@dataclass(frozen=True)
class CircularText:
    subject: str
    body: str

    def as_file(self) -> str:
        """The ready-to-send form: the subject line, a blank line, the body."""
        return f"{SUBJECT_PREFIX}{self.subject}\n\n{self.body}\n"


def split_rendered(template: str, text: str) -> CircularText:
    """Subject and body of a rendered Circular template; checked against the rules."""
    first, sep, rest = text.partition("\n")
    if not first.startswith(SUBJECT_PREFIX) or not sep:
        raise CircularFormatError(
            f"template {template!r}: first line = {first[:60]!r}: expected '{SUBJECT_PREFIX}...'"
        )
    if not rest.startswith("\n"):
        raise CircularFormatError(f"template {template!r}: the subject line must be followed by a blank line")
    circular = CircularText(first[len(SUBJECT_PREFIX) :].strip(), rest[1:].strip("\n"))
    check_circular(circular)
    return circular


def check_circular(circular: CircularText) -> None:
    """Raise :class:`CircularFormatError` naming the first rule ``circular`` breaks."""
    _check_subject(circular.subject)
    _check_body(circular.body)


def _check_subject(subject: str) -> None:
    if not EVENT_NAME.match(subject):
        raise CircularFormatError(
            f"subject = {subject[:80]!r}: must start with the event name IceCube-YYMMDDA"
        )
    if len(subject) > MAX_SUBJECT_CHARS or "\n" in subject:
        raise CircularFormatError(f"subject = {subject[:80]!r}: must be one line of at most 300 characters")
    lowered = subject.lower()
    for word in FORBIDDEN_SUBJECT_WORDS:
        if word in lowered:
            raise CircularFormatError(f"subject = {subject[:80]!r}: contains {word!r}, which GCN rejects")


def _check_body(body: str) -> None:
    if not body.strip():
        raise CircularFormatError("body = '': empty")
    if not body.isascii():
        bad = next(ch for ch in body if not ch.isascii())
        raise CircularFormatError(f"body: character {bad!r} is not plain ASCII (GCN: no special characters)")
    lines = body.split("\n")
    if len(lines) > MAX_LINES:
        raise CircularFormatError(f"body: {len(lines)} lines; a Circular must stay under 60 lines")
    for number, line in enumerate(lines, 1):
        if line != line.rstrip() or "\t" in line:
            raise CircularFormatError(f"body line {number} = {line[:60]!r}: trailing whitespace or tab")
    for block in paragraphs(body):
        if len(block) > 1 and not all(FIELD_LINE.match(line) for line in block):
            raise CircularFormatError(
                f"body: paragraph starting {block[0][:60]!r} is wrapped over {len(block)} lines "
                "(one paragraph per line, or 'Field: value' lines)"
            )


def paragraphs(body: str) -> list[list[str]]:
    """Blocks of consecutive non-empty lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in body.split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def one_line(text: str, field: str) -> str:
    """Operator text for a Circular: whitespace collapsed to single spaces, plain ASCII, not empty."""
    collapsed = " ".join(text.split())
    if not collapsed:
        raise CircularFormatError(f"{field} = {text!r}: must not be empty")
    if not collapsed.isascii():
        bad = next(ch for ch in collapsed if not ch.isascii())
        raise CircularFormatError(
            f"{field}: character {bad!r} is not plain ASCII (GCN: no special characters)"
        )
    return collapsed
