"""Where the agent keeps its client credentials and tokens between requests and runs.

Credentials are keyed by issuer and tokens by issuer and resource (MCP client rule C11): a
resource that moves to another authorization server finds nothing under the new issuer, so
the agent registers and authorizes afresh instead of sending a secret or token elsewhere.
Storing ``None`` deletes.

:class:`MemoryTokenStorage` forgets everything when the process ends; :class:`FileTokenStorage`
keeps a JSON file readable by its owner only.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

import anyio

from warden.agent.registration import ClientCredentials
from warden.agent.tokens import TokenSet

__all__ = ["FileTokenStorage", "MemoryTokenStorage", "TokenStorage"]


class TokenStorage(Protocol):
    async def get_client(self, issuer: str) -> ClientCredentials | None: ...

    async def set_client(self, issuer: str, client: ClientCredentials | None) -> None: ...

    async def get_tokens(self, issuer: str, resource: str) -> TokenSet | None: ...

    async def set_tokens(self, issuer: str, resource: str, tokens: TokenSet | None) -> None: ...


class MemoryTokenStorage:
    """Credentials and tokens in a dict, for one process."""

    def __init__(self) -> None:
        self._clients: dict[str, ClientCredentials] = {}
        self._tokens: dict[tuple[str, str], TokenSet] = {}

    async def get_client(self, issuer: str) -> ClientCredentials | None:
        return self._clients.get(issuer)

    async def set_client(self, issuer: str, client: ClientCredentials | None) -> None:
        _put(self._clients, issuer, client)

    async def get_tokens(self, issuer: str, resource: str) -> TokenSet | None:
        return self._tokens.get((issuer, resource))

    async def set_tokens(self, issuer: str, resource: str, tokens: TokenSet | None) -> None:
        _put(self._tokens, (issuer, resource), tokens)


def _put(mapping: dict[Any, Any], key: Any, value: Any) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value


class FileTokenStorage:
    """A JSON file with mode 0600, rewritten atomically on every change.

    The file holds refresh tokens and may hold client secrets: it is created readable and
    writable by its owner only, and replaced (never rewritten in place) so a crash leaves
    either the old or the new contents.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = anyio.Lock()

    async def get_client(self, issuer: str) -> ClientCredentials | None:
        data = (await self._read())["clients"].get(issuer)
        return ClientCredentials.from_dict(data) if data else None

    async def set_client(self, issuer: str, client: ClientCredentials | None) -> None:
        async with self._lock:
            state = await self._read()
            _put(state["clients"], issuer, client.to_dict() if client else None)
            await anyio.to_thread.run_sync(self._write, state)

    async def get_tokens(self, issuer: str, resource: str) -> TokenSet | None:
        data = (await self._read())["tokens"].get(issuer, {}).get(resource)
        return TokenSet.from_dict(data) if data else None

    async def set_tokens(self, issuer: str, resource: str, tokens: TokenSet | None) -> None:
        async with self._lock:
            state = await self._read()
            per_issuer = state["tokens"].setdefault(issuer, {})
            _put(per_issuer, resource, tokens.to_dict() if tokens else None)
            if not per_issuer:
                del state["tokens"][issuer]
            await anyio.to_thread.run_sync(self._write, state)

    async def _read(self) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(self._load)

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        return {"clients": data.get("clients", {}), "tokens": data.get("tokens", {})}

    def _write(self, state: dict[str, Any]) -> None:
        fd, temporary = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)  # mkstemp already uses 0600; be explicit about the intent
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(state, f, indent=2, sort_keys=True)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
