"""SQL implementations of the ports in :mod:`warden.oauth.ports`, one module per aggregate."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from warden.storage.repositories.audit import SqlAuditSink
from warden.storage.repositories.clients import SqlClientStore
from warden.storage.repositories.codes import SqlCodeStore
from warden.storage.repositories.consents import SqlConsentStore
from warden.storage.repositories.devices import SqlDeviceAuthorizationStore
from warden.storage.repositories.grants import SqlGrantStore, SqlRefreshTokenStore
from warden.storage.repositories.keys import SqlKeyStore
from warden.storage.repositories.resources import SqlResourceStore
from warden.storage.repositories.sessions import SqlDenylist, SqlSessionStore
from warden.storage.repositories.users import SqlUserStore

__all__ = ["SqlStores"]


class SqlStores:
    """Every store, sharing one session (one transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clients = SqlClientStore(session)
        self.users = SqlUserStore(session)
        self.codes = SqlCodeStore(session)
        self.grants = SqlGrantStore(session)
        self.refresh_tokens = SqlRefreshTokenStore(session)
        self.consents = SqlConsentStore(session)
        self.devices = SqlDeviceAuthorizationStore(session)
        self.sessions = SqlSessionStore(session)
        self.denylist = SqlDenylist(session)
        self.keys = SqlKeyStore(session)
        self.resources = SqlResourceStore(session)
        self.audit = SqlAuditSink(session)
