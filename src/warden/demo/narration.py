"""What ``warden demo`` prints: each step of an agent's authorization, readably, with rich.

:class:`Narrator` knows how to show each kind of step (a challenge, a metadata document, a
registration, a consent, a token, a tool result); the walk decides when. Tokens are never
printed whole: an access token is shown as its decoded header and claims, codes and client
secrets are shortened.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["Narrator", "decode_jwt", "shorten"]

_CLAIMS_SHOWN: Final = ("sub", "act", "actor_type", "aud", "scope", "client_id", "iss", "exp")


def shorten(secret: str, keep: int = 8) -> str:
    """The first characters of a code or token, enough to tell two apart."""
    return secret if len(secret) <= keep + 1 else f"{secret[:keep]}…"


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A JWT's header and claims, decoded for display only (the MCP server verifies it)."""

    def part(segment: str) -> dict[str, Any]:
        decoded: Any = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        return decoded if isinstance(decoded, dict) else {}

    header, payload, _ = token.split(".")
    return part(header), part(payload)


class Narrator:
    """Prints the numbered steps of the walk to ``console``.

    Values from the wire are printed as plain text, never as markup or emoji codes: a scope
    like ``write:email:send`` must not turn into an envelope.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._step = 0

    def _print(self, *parts: str | tuple[str, str]) -> None:
        """Plain text, each part optionally with a style."""
        self.console.print(Text.assemble(*parts))

    def step(self, title: str) -> None:
        self._step += 1
        self.console.print()
        self.console.rule(Text(f"{self._step}. {title}", style="bold"), align="left")

    def wire(self, method: str, url: str, status: int, reason: str = "") -> None:
        colour = "green" if status < 300 else "yellow" if status < 500 else "red"
        self._print((method, "dim"), f" {url} → ", (f"{status} {reason}", colour))

    def note(self, text: str) -> None:
        self._print((text, "italic"))

    def fields(self, rows: Iterable[tuple[str, object]]) -> None:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="cyan", no_wrap=True)
        table.add_column(overflow="fold")
        for name, value in rows:
            table.add_row(name, Text(_show(name, value)))
        self.console.print(table)

    def challenge(self, header: str, *, step_up: bool) -> None:
        self._print("WWW-Authenticate: ", (header, "magenta"))
        if step_up:
            self.note(
                "The token is valid but lacks a scope this tool needs: the server names every "
                "scope required, and the agent asks the person again (step-up)."
            )
        else:
            self.note(
                "No token: the server points at its metadata (RFC 9728) and says which scopes "
                "to ask for (RFC 6750 §3)."
            )

    def authorization_request(self, url: str) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        self._print(("GET", "dim"), f" {url.split('?')[0]}?…")
        self.fields(
            (name, query[name])
            for name in ("client_id", "scope", "resource", "code_challenge_method", "redirect_uri")
            if name in query
        )

    def token(self, body: Mapping[str, Any]) -> None:
        access_token = body.get("access_token")
        if not isinstance(access_token, str):
            self.fields(body.items())
            return
        header, claims = decode_jwt(access_token)
        rows = [(name, body[name]) for name in ("token_type", "expires_in") if name in body]
        self.fields(
            [
                *rows,
                ("refresh_token", "yes (rotated on use)" if body.get("refresh_token") else "no"),
                ("header", {k: header[k] for k in ("typ", "alg", "kid") if k in header}),
            ]
        )
        self.console.print("[bold]Access token claims[/] (decoded; the MCP server verifies them):")
        self.fields((name, claims[name]) for name in _CLAIMS_SHOWN if name in claims)

    def tool_result(self, name: str, result: Mapping[str, Any] | None, text: str) -> None:
        self._print((f"✔ {name}", "bold green"))
        if result is None:
            self._print(text)
            return
        self.fields(result.items())

    def done(self, text: str) -> None:
        self.console.print()
        self._print((text, "bold green"))


def _show(name: str, value: object) -> str:
    """A value on one line, or a list of objects one per line."""
    if name == "exp" and isinstance(value, int):
        return f"{value} (in {max(0, value - int(time.time()))} s)"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_show(k, v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        if all(isinstance(v, Mapping) for v in value):
            return "\n".join("  ".join(str(x) for x in v.values()) for v in value)
        return ", ".join(_show(name, v) for v in value)
    return json.dumps(value, ensure_ascii=False)
