"""Bearer-token auth with SkyDriver's two roles: ``user`` and ``system``.

As SkyDriver v2.4.1 (rest-tools) answers: no token or an unknown one is 403
``authentication failed``; a known token without the route's role is 403 ``authorization failed``.
"""

from __future__ import annotations

import enum
import hmac

from pydantic import SecretStr

from skyscan.server.errors import ApiError


class Role(enum.StrEnum):
    USER = "user"
    SYSTEM = "system"


class TokenTable:
    """The configured tokens and their roles (compared in constant time)."""

    def __init__(self, user_tokens: list[SecretStr], system_tokens: list[SecretStr]) -> None:
        self._tokens = [(t.get_secret_value().encode(), Role.USER) for t in user_tokens] + [
            (t.get_secret_value().encode(), Role.SYSTEM) for t in system_tokens
        ]

    def __repr__(self) -> str:
        return f"TokenTable({len(self._tokens)} tokens)"

    def role_of(self, authorization: str | None) -> Role | None:
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        given = token.strip().encode()
        role = None
        for known, known_role in self._tokens:
            if hmac.compare_digest(known, given):
                role = known_role
        return role

    def authorize(self, authorization: str | None, allowed: frozenset[Role]) -> Role:
        role = self.role_of(authorization)
        if role is None:
            raise ApiError(403, "authentication failed")
        if role not in allowed:
            raise ApiError(403, "authorization failed")
        return role
