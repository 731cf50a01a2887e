"""CSRF protection: every form carries the session's token (``csrf_token``) and every POST is
refused (403) unless the token it carries equals the session's (constant-time comparison).

Forms are parsed here from the ``application/x-www-form-urlencoded`` body (the only encoding the
console's forms use); any other body is refused as well.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from fastapi import Request

from skymist.console.auth import ForbiddenError

FIELD = "csrf_token"
MAX_FORM_BYTES = 200_000


async def read_form(request: Request) -> dict[str, str]:
    """The form fields of a POST (the last value of a repeated field)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise ForbiddenError("a form post is expected (application/x-www-form-urlencoded)")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ForbiddenError(f"form of {len(body)} bytes: at most {MAX_FORM_BYTES}")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in fields.items()}


def check_token(form: dict[str, str], expected: str) -> None:
    """Refuse (403) a form without the expected CSRF token."""
    given = form.get(FIELD, "")
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ForbiddenError("missing or wrong CSRF token: reload the page and try again")
