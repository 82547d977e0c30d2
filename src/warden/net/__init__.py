"""Outbound HTTP for URLs that clients name, guarded against SSRF (SEC-52 to SEC-61).

Use :class:`SafeFetcher` for every such fetch: Client ID Metadata Documents, ``jwks_uri``
and Web Bot Auth key directories. :func:`check_url_shape` lets callers refuse a URL before
anything is fetched, adding their own path and query policy.
"""

from warden.net._addresses import is_special_use_address
from warden.net._resolver import Resolver, SystemResolver
from warden.net._urls import MAX_URL_LENGTH, UnsafeURLError, check_url_shape
from warden.net.fetch import (
    DEFAULT_LIMITS,
    FetchedDocument,
    FetchError,
    FetchLimits,
    SafeFetcher,
)

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_URL_LENGTH",
    "FetchError",
    "FetchLimits",
    "FetchedDocument",
    "Resolver",
    "SafeFetcher",
    "SystemResolver",
    "UnsafeURLError",
    "check_url_shape",
    "is_special_use_address",
]
