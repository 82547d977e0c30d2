"""Routes: token."""

from __future__ import annotations

from starlette.routing import BaseRoute

from warden.web.context import AppContext

__all__ = ["routes"]


def routes(ctx: AppContext) -> list[BaseRoute]:
    return []
