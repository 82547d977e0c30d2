"""The framework-free request the protocol engine reads.

The web adapter builds one from the HTTP request; protocol code never sees Starlette.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from warden.errors import InvalidRequestError

__all__ = ["MAX_PARAM_LENGTH", "OAuthRequest", "Params"]

MAX_PARAM_LENGTH = 4096
"""Any single OAuth parameter longer than this is refused (SEC-12)."""


@dataclass(frozen=True, slots=True)
class Params:
    """Form or query parameters, keeping repeats so they can be refused (SEC-13)."""

    items: Sequence[tuple[str, str]] = ()

    def get(self, name: str) -> str | None:
        """The single value of ``name``, or None; a repeated parameter is invalid_request.

        RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once."
        An empty value is treated as absent (RFC 6749 §3.1).
        """
        values = [v for k, v in self.items if k == name]
        if len(values) > 1:
            raise InvalidRequestError(f"Parameter {name} is repeated")
        if not values or values[0] == "":
            return None
        if len(values[0]) > MAX_PARAM_LENGTH:
            raise InvalidRequestError(f"Parameter {name} is too long")
        return values[0]

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise InvalidRequestError(f"Missing parameter: {name}")
        return value

    def get_all(self, name: str) -> list[str]:
        """Every value of a parameter that may repeat (RFC 8707 ``resource``)."""
        return [v for k, v in self.items if k == name and v != ""]

    def names(self) -> set[str]:
        return {k for k, _ in self.items}


@dataclass(frozen=True, slots=True)
class OAuthRequest:
    """What an endpoint needs of an HTTP request."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    """Lower-cased header names."""
    query: Params = field(default_factory=Params)
    form: Params = field(default_factory=Params)
    client_ip: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())
