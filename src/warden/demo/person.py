"""The person at the browser, played headlessly: sign in, approve, hand back the redirect.

An MCP client opens the authorization URL in a browser and waits for the redirect to its
loopback listener (mcp-auth.md recipe 6b). :class:`HeadlessPerson` does what a person would:
it follows the URL with its own HTTP client (which keeps the sign-in cookie), fills in the
sign-in form, presses **Allow** on the consent page (``decision=approve``) and stops at the
redirect URI, whose ``code``, ``state`` and ``iss`` it returns untouched for the client to
check (RFC 6749 §10.12, RFC 9207 §2.4). Nothing listens on the redirect URI. For an agent
using the device grant it opens the verification URI instead, and approves the device.

It reads only the pages' forms: the first ``<form>``'s ``action`` and its hidden inputs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

__all__ = ["AuthorizationRedirect", "HeadlessPerson", "PersonError"]

MAX_PAGES: Final = 8
_FORM = re.compile(r'<form[^>]*\baction="([^"]*)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


class PersonError(RuntimeError):
    """The walk ended somewhere other than the redirect URI (an error page, say)."""


@dataclass(frozen=True, slots=True)
class AuthorizationRedirect:
    """The authorization response (RFC 6749 §4.1.2) as it reached the redirect URI."""

    location: str
    code: str | None
    state: str | None
    iss: str | None
    error: str | None


class HeadlessPerson:
    """Signs in as ``username`` and approves every consent page it meets.

    :param redirect_uri: where the walk stops; compared by scheme, host and path (the port
        of a loopback redirect URI may vary, RFC 8252 §7.3).
    :param on_page: called with ``"sign-in"`` or ``"consent"`` for each form submitted, so a
        caller can narrate.
    """

    def __init__(
        self,
        username: str,
        password: str,
        redirect_uri: str,
        *,
        on_page: Callable[[str], None] | None = None,
    ) -> None:
        self.username = username
        self._password = password
        self.redirect_uri = redirect_uri
        self._on_page = on_page or (lambda page: None)
        self._browser = httpx.AsyncClient(follow_redirects=False, timeout=10.0)

    async def authorize(self, url: str) -> AuthorizationRedirect:
        """Follow the authorization URL until the redirect URI; return what arrived there.

        :raises PersonError: a page without a form, or too many pages.
        """
        response = await self._browser.get(url)
        for _ in range(MAX_PAGES):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if self._at_redirect_uri(location):
                    return _redirect(location)
                response = await self._browser.get(location)
                continue
            response = await self._submit(response)
        raise PersonError("the redirect URI was never reached")

    async def approve_device(self, verification_uri_complete: str) -> None:
        """Open the device verification URI with its code (RFC 8628 §3.3.1), sign in and
        press Allow; return on the page that has no form left (the device is connected).

        :raises PersonError: an error page, or a page asking to type the code.
        """
        response = await self._browser.get(verification_uri_complete)
        for _ in range(MAX_PAGES):
            if response.is_redirect:
                response = await self._browser.get(
                    urljoin(str(response.url), response.headers["location"])
                )
            elif response.status_code != 200:
                raise PersonError(f"HTTP {response.status_code} at {response.url}")
            elif _FORM.search(response.text) is None:
                return
            elif 'name="password"' in response.text or 'name="decision"' in response.text:
                response = await self._submit(response)
            else:
                raise PersonError(f"{response.url} asks for something else than approval")
        raise PersonError("the device was never approved")

    async def _submit(self, page: httpx.Response) -> httpx.Response:
        action = _FORM.search(page.text)
        if action is None:
            raise PersonError(f"HTTP {page.status_code} at {page.url} has no form to submit")
        data = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
        if 'name="password"' in page.text:
            data.update(username=self.username, password=self._password)
            self._on_page("sign-in")
        elif 'name="decision"' in page.text:
            data["decision"] = "approve"
            self._on_page("consent")
        target = urljoin(str(page.url), html.unescape(action[1]))
        return await self._browser.post(target, data=data)

    def _at_redirect_uri(self, location: str) -> bool:
        here, there = urlsplit(location), urlsplit(self.redirect_uri)
        return (here.scheme, here.hostname, here.path) == (there.scheme, there.hostname, there.path)

    async def aclose(self) -> None:
        await self._browser.aclose()


def _redirect(location: str) -> AuthorizationRedirect:
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return AuthorizationRedirect(
        location=location,
        code=query.get("code"),
        state=query.get("state"),
        iss=query.get("iss"),
        error=query.get("error"),
    )
