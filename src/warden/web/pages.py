"""Server-rendered HTML pages: one Jinja2 environment and one render helper.

Every page gets the same headers (SEC-63, SEC-64): it cannot be framed (``frame-ancestors``
plus ``X-Frame-Options`` for older browsers), loads nothing but Warden's own stylesheet (no
scripts at all), leaks no ``state`` or code through ``Referer``, and is never cached. There is
deliberately no ``form-action`` directive: browsers apply it to the redirect that follows the
consent POST, which goes to the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from warden.errors import OAuthError
from warden.settings import Settings

__all__ = ["PAGE_HEADERS", "Notice", "Pages", "when"]

PAGE_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}


@dataclass(frozen=True, slots=True)
class Notice:
    """What a form page says when it comes back after a refused post, and how it is served."""

    message: str | None = None
    status_code: int = 200
    headers: Mapping[str, str] | None = None

    @classmethod
    def of(cls, error: OAuthError) -> Notice:
        """An error shown on the form page with its status and headers (429 and ``Retry-After``)."""
        return cls(error.description, error.status_code, error.headers)


class Pages:
    """Renders templates with the issuer's URLs and the page headers."""

    def __init__(self, settings: Settings) -> None:
        self._env = Environment(
            loader=PackageLoader("warden.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["when"] = when
        self._urls = {
            "static_url": settings.endpoint("/static"),
            "login_url": settings.endpoint("/login"),
            "consent_url": settings.endpoint("/consent"),
            "logout_url": settings.endpoint("/logout"),
            "connections_url": settings.endpoint("/account/connections"),
        }

    def render(
        self,
        template: str,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        html = self._env.get_template(template).render(**self._urls, **context)
        return HTMLResponse(html, status_code, headers={**PAGE_HEADERS, **(headers or {})})

    def form(self, template: str, notice: Notice | None, **context: Any) -> HTMLResponse:
        """A page with a form, and the notice it is shown with (none the first time)."""
        notice = notice or Notice()
        return self.render(
            template,
            status_code=notice.status_code,
            headers=notice.headers,
            message=notice.message,
            **context,
        )

    def error(self, error: OAuthError, *, status_code: int | None = None) -> HTMLResponse:
        """An error the person sees; nothing is sent to the client (SEC-7).

        400 unless given, or a rate limit (429) or an outage (503), which keep their status
        and ``Retry-After``.
        """
        if status_code is None:
            status_code = error.status_code if error.status_code in (429, 503) else 400
        return self.render(
            "error.html",
            status_code=status_code,
            headers=error.headers,
            error=error.error,
            description=error.description,
        )


def when(timestamp: float) -> str:
    """A moment as people read it, in UTC: a page without scripts cannot know their zone."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"
