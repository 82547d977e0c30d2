"""The authorization transaction: a validated request waiting for sign-in and consent.

Nothing of it touches the database before consent (Hydra's lesson at scale): the web layer
seals it into an encrypted, authenticated cookie, so it is bound to the browser that started
it. Sign-in binds it to the new session too, and consent is accepted only from that session
(OAuth 2.1 §7.5.1; SEC-66). Forms carry only the transaction id, its CSRF token and the
decision; the redirect URI, scopes and resources come from here, never from a form (SEC-8).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from warden.oauth.authorize import AuthorizationRequest, ClientRedirect
from warden.oauth.secrets import constant_time_equals, new_token

__all__ = ["DeferredError", "Pending", "Transaction", "is_transaction_id"]

_TXN_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def is_transaction_id(value: str | None) -> bool:
    return value is not None and _TXN_ID.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class DeferredError:
    """A redirectable error held back until the person has signed in (BCP §4.11.2; SEC-9).

    Sending a self-registered client's error straight back would make Warden a redirector
    that anyone can point anywhere; after sign-in it is an answer to a real person's request.
    """

    redirect: ClientRedirect
    error: str
    description: str | None


Pending = AuthorizationRequest | DeferredError


@dataclass(frozen=True, slots=True)
class Transaction:
    txn: str
    csrf_token: str
    pending: Pending
    session_hash: str | None = None
    """The session that signed in for this transaction; None until then."""

    @classmethod
    def start(cls, pending: Pending, *, session_hash: str | None = None) -> Transaction:
        return cls(new_token(16), new_token(32), pending, session_hash)

    @property
    def redirect(self) -> ClientRedirect:
        return self.pending.redirect

    def bind(self, session_hash: str | None) -> Transaction:
        """Bind to a (new) session; the CSRF token changes with the privilege (SEC-72)."""
        return replace(self, session_hash=session_hash, csrf_token=new_token(32))

    def check_csrf(self, token: str | None) -> bool:
        """Compare the form's CSRF token in constant time (SEC-65, SEC-111)."""
        return token is not None and constant_time_equals(self.csrf_token, token)

    def bound_to(self, session_hash: str | None) -> bool:
        """Whether this transaction belongs to ``session_hash`` (SEC-66)."""
        return (
            self.session_hash is not None
            and session_hash is not None
            and constant_time_equals(self.session_hash, session_hash)
        )

    def to_dict(self) -> dict[str, Any]:
        redirect = self.redirect
        data: dict[str, Any] = {
            "txn": self.txn,
            "csrf": self.csrf_token,
            "sid": self.session_hash,
            "client_id": redirect.client_id,
            "redirect_uri": redirect.redirect_uri,
            "state": redirect.state,
        }
        if isinstance(self.pending, DeferredError):
            data["error"] = [self.pending.error, self.pending.description]
        else:
            request = self.pending
            data["request"] = {
                "scopes": sorted(request.scopes),
                "resources": list(request.resources),
                "code_challenge": request.code_challenge,
                "prompt": sorted(request.prompt),
            }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transaction:
        """Rebuild a sealed transaction; :raises (KeyError, TypeError, ValueError): if malformed."""
        redirect = ClientRedirect(
            str(data["client_id"]), str(data["redirect_uri"]), _optional(data["state"])
        )
        pending: Pending
        if "error" in data:
            error, description = data["error"]
            pending = DeferredError(redirect, str(error), _optional(description))
        else:
            request = data["request"]
            pending = AuthorizationRequest(
                redirect=redirect,
                scopes=frozenset(map(str, request["scopes"])),
                resources=tuple(map(str, request["resources"])),
                code_challenge=str(request["code_challenge"]),
                prompt=frozenset(map(str, request["prompt"])),
            )
        return cls(str(data["txn"]), str(data["csrf"]), pending, _optional(data["sid"]))


def _optional(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("expected a string or null")
    return value
