"""SQLAlchemy 2 tables. Secrets are stored only as digests (SEC-107, SEC-108, SEC-110)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Double, Index, Integer, LargeBinary, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AuditRow",
    "Base",
    "ClientRow",
    "CodeRow",
    "ConsentRow",
    "DenylistRow",
    "DeviceAuthorizationRow",
    "GrantRow",
    "KeyRow",
    "RefreshTokenRow",
    "ResourceRow",
    "SessionRow",
    "UserRow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class ClientRow(Base):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    origin: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    redirect_uris: Mapped[list[Any]] = mapped_column(JSON)
    grant_types: Mapped[list[Any]] = mapped_column(JSON)
    response_types: Mapped[list[Any]] = mapped_column(JSON)
    application_type: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str | None] = mapped_column(Text)
    client_metadata: Mapped[dict[str, Any]] = mapped_column(JSON)
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    secret_expires_at: Mapped[int] = mapped_column(Integer, default=0)
    registration_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    registered_from: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Double)
    last_used_at: Mapped[float | None] = mapped_column(Double)
    metadata_expires_at: Mapped[float | None] = mapped_column(Double)

    __table_args__ = (Index("ix_clients_origin_last_used", "origin", "last_used_at"),)


class UserRow(Base):
    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[float] = mapped_column(Double)


class GrantRow(Base):
    __tablename__ = "grants"

    grant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(512), index=True)
    user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(Text)
    resources: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float] = mapped_column(Double, index=True)
    revoked_at: Mapped[float | None] = mapped_column(Double, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor_chain: Mapped[list[Any]] = mapped_column(JSON)
    auth_time: Mapped[float | None] = mapped_column(Double)
    parent_grant_id: Mapped[str | None] = mapped_column(String(64), index=True)


class CodeRow(Base):
    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(512))
    user_id: Mapped[str] = mapped_column(String(64))
    grant_id: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(Text)
    resources: Mapped[list[Any]] = mapped_column(JSON)
    auth_time: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float] = mapped_column(Double, index=True)
    consumed_at: Mapped[float | None] = mapped_column(Double)


class RefreshTokenRow(Base):
    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(512))
    scope: Mapped[str] = mapped_column(Text)
    resources: Mapped[list[Any]] = mapped_column(JSON)
    issued_at: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float] = mapped_column(Double, index=True)
    consumed_at: Mapped[float | None] = mapped_column(Double)


class ConsentRow(Base):
    __tablename__ = "consents"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    scopes: Mapped[list[Any]] = mapped_column(JSON)
    resources: Mapped[list[Any]] = mapped_column(JSON)
    redirect_uri: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)
    last_used_at: Mapped[float | None] = mapped_column(Double)


class DeviceAuthorizationRow(Base):
    """RFC 8628 device authorizations; both codes only as digests (SEC-108)."""

    __tablename__ = "device_authorizations"

    device_code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(512))
    scope: Mapped[str] = mapped_column(Text)
    resources: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[float | None] = mapped_column(Double)
    grant_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float] = mapped_column(Double, index=True)
    poll_interval: Mapped[int] = mapped_column(Integer)
    last_polled_at: Mapped[float | None] = mapped_column(Double)


class SessionRow(Base):
    __tablename__ = "sessions"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    auth_time: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float] = mapped_column(Double, index=True)


class DenylistRow(Base):
    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Double, index=True)


class KeyRow(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    encrypted_private_jwk: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Double)
    activated_at: Mapped[float | None] = mapped_column(Double)
    retired_at: Mapped[float | None] = mapped_column(Double)


class ResourceRow(Base):
    __tablename__ = "resources"

    uri: Mapped[str] = mapped_column(String(2048), primary_key=True)
    scopes: Mapped[list[Any]] = mapped_column(JSON)
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[float] = mapped_column(Double)


class AuditRow(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[float] = mapped_column(Double, index=True)
    client_id: Mapped[str | None] = mapped_column(String(512))
    user_id: Mapped[str | None] = mapped_column(String(64))
    actor_type: Mapped[str | None] = mapped_column(String(16))
    grant_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
