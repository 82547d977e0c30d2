"""How a client is presented to a person: wherever Warden shows one, it shows the same facts.

The consent page, the device confirmation page and the connected-agents page all say what
kind of client it is (an AI agent, an app the person uses, or a backend service), who
publishes it, which software and version it runs, and whether Warden can vouch for any of it.

Trust decides what is shown (OAuth 2.1 §7.3, §7.9; RFC 7591 §5; SEC-67):

- **Verified**: registered by an administrator, or registered with a software statement from
  an issuer Warden trusts (RFC 7591 §2.3). Its ``publisher`` name, if it has one, is shown.
- **Unverified**: dynamically registered or a Client ID Metadata Document. Everything it says
  about itself is self-asserted, so a free-text ``publisher`` is never shown (it could claim
  any brand); the publisher is the host of its ``client_uri``, which registration has already
  tied to its redirect URI's host (or, for CIMD, the client_id's host; SEC-43).

Logos are not shown: Warden never makes a person's browser load a third-party image (SEC-60),
so each client gets a generated badge, its initial on a colour derived from its client_id.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from warden.oauth.model import Client, ClientKind

__all__ = ["BADGE_COLOURS", "KIND_LABELS", "ClientProfile", "client_profile"]

KIND_LABELS: Final[dict[ClientKind, str]] = {
    "agent": "AI agent",
    "app": "App",
    "service": "Service",
}

BADGE_COLOURS: Final = 8
"""How many badge colours the stylesheet defines (``.avatar.c0`` … ``.avatar.c7``)."""


@dataclass(frozen=True, slots=True)
class ClientProfile:
    """What a person is told about a client. Plain text: templates escape it."""

    client_id: str
    name: str
    kind: ClientKind
    verified: bool
    vouched_by: str | None
    """Who stands behind the client's identity: "your administrator" or a statement issuer."""
    publisher: str | None
    software_id: str | None
    software_version: str | None
    client_id_host: str | None
    """For a CIMD client: the host its identity (the client_id URL) lives on."""
    initial: str
    colour: int

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def is_agent(self) -> bool:
        return self.kind == "agent"


def client_profile(client: Client) -> ClientProfile:
    """The profile of ``client`` (see the module docstring for what trust changes)."""
    name = client.client_name or client.client_id
    vouched_by = _vouched_by(client)
    return ClientProfile(
        client_id=client.client_id,
        name=name,
        kind=client.kind,
        verified=vouched_by is not None,
        vouched_by=vouched_by,
        publisher=_publisher(client, verified=vouched_by is not None),
        software_id=_text(client.metadata.get("software_id")),
        software_version=_text(client.metadata.get("software_version")),
        client_id_host=_host(client.client_id) if client.origin == "cimd" else None,
        initial=_initial(name),
        colour=hashlib.sha256(client.client_id.encode()).digest()[0] % BADGE_COLOURS,
    )


def _vouched_by(client: Client) -> str | None:
    if client.origin == "static":
        return "your administrator"
    statement = client.metadata.get("software_statement")
    if client.origin == "dynamic" and isinstance(statement, str):
        # Verified against a trusted issuer's keys when the client registered (RFC 7591 §3.1.1).
        issuer = _statement_issuer(statement)
        return _host(issuer) or issuer or "a trusted publisher"
    return None


def _publisher(client: Client, *, verified: bool) -> str | None:
    named = _text(client.metadata.get("publisher"))
    if verified and named:
        return named
    return _host(client.metadata.get("client_uri"))


def _statement_issuer(statement: str) -> str | None:
    """The ``iss`` of a stored (already verified) software statement."""
    try:
        payload = statement.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


def _initial(name: str) -> str:
    return next((c.upper() for c in name if c.isalnum()), "?")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _host(uri: object) -> str | None:
    if not isinstance(uri, str):
        return None
    try:
        return urlsplit(uri).hostname
    except ValueError:
        return None
