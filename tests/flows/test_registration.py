"""Dynamic Client Registration (RFC 7591) and management (RFC 7592) over the real app."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select, text
from starlette.applications import Starlette
from token_support import VERIFIER, add_user, basic, issue_code, token_request

from warden.clock import FrozenClock
from warden.oauth.model import Consent, Grant
from warden.storage.models import AuditRow
from warden.web.context import AppContext
from warden.web.routes.registration import reap_once

ISSUER = "https://warden.test"
PUBLISHER = "https://publisher.example"
CB = "https://app.example/cb"
PUBLIC = {"redirect_uris": [CB], "token_endpoint_auth_method": "none", "client_name": "Agent"}
CONFIDENTIAL = {"redirect_uris": [CB], "client_name": "Backend"}


async def register(client: httpx.AsyncClient, body: Any, **kwargs: Any) -> httpx.Response:
    return await client.post("/register", json=body, **kwargs)


def asgi_client(app: Starlette, ip: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url=ISSUER)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def audit_events(ctx: AppContext) -> list[tuple[str, str | None]]:
    async with ctx.db.engine.connect() as conn:
        rows = (await conn.execute(select(AuditRow.event, AuditRow.client_id))).all()
    return [(r.event, r.client_id) for r in rows]


# --- RFC 7591 §3: registration ------------------------------------------------------------


async def test_public_client_registration(client: httpx.AsyncClient, clock: FrozenClock) -> None:
    response = await register(client, PUBLIC)
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    client_id = body["client_id"]
    assert body == {
        "client_id": client_id,
        "client_id_issued_at": int(clock.now()),
        "redirect_uris": [CB],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "application_type": "web",
        "client_kind": "agent",
        "client_name": "Agent",
        "registration_access_token": body["registration_access_token"],
        "registration_client_uri": f"{ISSUER}/register/{client_id}",
    }
    assert "client_secret" not in body


async def test_confidential_client_gets_a_256_bit_secret(client: httpx.AsyncClient) -> None:
    body = (await register(client, CONFIDENTIAL)).json()
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert len(body["client_secret"]) >= 43  # 32 bytes, base64url
    assert body["client_secret_expires_at"] == 0


async def test_sec_107_secrets_are_stored_only_as_digests(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    body = (await register(client, CONFIDENTIAL)).json()
    async with ctx.db.engine.connect() as conn:
        dump = str((await conn.execute(text("SELECT * FROM clients"))).all())
    assert body["client_secret"] not in dump
    assert body["registration_access_token"] not in dump
    async with ctx.db.unit_of_work() as stores:
        stored = await stores.clients.get(body["client_id"])
    assert stored is not None and stored.secret_hash is not None
    assert ctx.hasher.verify(body["client_secret"], stored.secret_hash)


async def test_mcp_python_sdk_registration(client: httpx.AsyncClient) -> None:
    response = await register(
        client,
        {
            "redirect_uris": ["http://localhost:3030/callback"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "read:calendar",
            "client_name": "python-sdk",
            "application_type": "native",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["application_type"] == "native"
    assert response.json()["scope"] == "read:calendar"


async def test_mcp_typescript_sdk_registration(client: httpx.AsyncClient) -> None:
    response = await register(
        client,
        {
            "client_name": "ts-sdk",
            "redirect_uris": ["http://localhost:6274/oauth/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["application_type"] == "web"


@pytest.mark.parametrize(
    "uri",
    [
        "http://app.example/cb",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "https://*.example/cb",
        "https://a.example/cb#x",
        "myapp:/cb",
    ],
)
async def test_sec_42_bad_redirect_uris_are_refused(client: httpx.AsyncClient, uri: str) -> None:
    response = await register(client, {**PUBLIC, "redirect_uris": [uri]})
    assert_error(response, 400, "invalid_redirect_uri")


async def test_sec_42_native_private_use_scheme_is_accepted(client: httpx.AsyncClient) -> None:
    response = await register(
        client, {**PUBLIC, "redirect_uris": ["com.example.app:/cb"], "application_type": "native"}
    )
    assert response.status_code == 201, response.text


async def test_sec_43_client_name_with_bidi_override_is_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await register(client, {**PUBLIC, "client_name": "Safe\u202eexe.txt"})
    assert_error(response, 400, "invalid_client_metadata")


async def test_sec_43_logo_on_another_host_is_dropped(client: httpx.AsyncClient) -> None:
    response = await register(
        client,
        {
            **PUBLIC,
            "logo_uri": "https://evil.example/logo.png",
            "tos_uri": "https://app.example/tos",
        },
    )
    assert response.status_code == 201
    assert "logo_uri" not in response.json()
    assert response.json()["tos_uri"] == "https://app.example/tos"


async def test_sec_44_client_cannot_choose_its_id_or_secret(client: httpx.AsyncClient) -> None:
    body = (
        await register(
            client,
            {
                **CONFIDENTIAL,
                "client_id": "https://victim.example/app",
                "client_secret": "chosen-secret",
            },
        )
    ).json()
    assert not body["client_id"].startswith("https://")
    assert body["client_id"] != "https://victim.example/app"
    assert body["client_secret"] != "chosen-secret"


async def test_sec_44_client_ids_are_random_and_distinct(
    make_app: Any,
) -> None:
    app, _ = await make_app(registration={"per_source_per_hour": 1000})
    async with asgi_client(app) as c:
        ids = [(await register(c, CONFIDENTIAL)).json()["client_id"] for _ in range(100)]
    assert len(set(ids)) == 100
    assert all(len(i) >= 22 for i in ids)  # 16 bytes = 128 bits, base64url


@pytest.mark.parametrize(
    "fields",
    [
        {"grant_types": ["password"]},
        {"grant_types": ["implicit"]},
        {"response_types": ["token"]},
        {"token_endpoint_auth_method": "client_secret_jwt"},
        {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"},
    ],
)
async def test_sec_45_grant_response_types_and_methods_are_allow_listed(
    client: httpx.AsyncClient, fields: dict[str, Any]
) -> None:
    response = await register(client, {**PUBLIC, **fields})
    assert_error(response, 400, "invalid_client_metadata")


async def test_sec_46_admin_scope_is_refused(client: httpx.AsyncClient) -> None:
    response = await register(client, {**PUBLIC, "scope": "admin"})
    assert_error(response, 400, "invalid_client_metadata")


async def test_sec_46_unknown_scope_is_refused(client: httpx.AsyncClient) -> None:
    response = await register(client, {**PUBLIC, "scope": "read:everything"})
    assert_error(response, 400, "invalid_client_metadata")


async def test_sec_47_registration_rate_limit_per_source(
    client: httpx.AsyncClient, make_app: Any
) -> None:
    for _ in range(30):
        assert (await register(client, CONFIDENTIAL)).status_code == 201
    response = await register(client, CONFIDENTIAL)
    assert_error(response, 429, "rate_limited")
    assert 0 < int(response.headers["retry-after"]) <= 3600


async def test_sec_47_rate_limit_is_per_source(client: httpx.AsyncClient, app: Starlette) -> None:
    for _ in range(31):
        await register(client, CONFIDENTIAL)
    async with asgi_client(app, ip="198.51.100.9") as other:
        assert (await register(other, CONFIDENTIAL)).status_code == 201


async def test_sec_47_large_body_is_refused(client: httpx.AsyncClient) -> None:
    response = await register(client, {**PUBLIC, "padding": "x" * 20_000})
    assert_error(response, 400, "invalid_client_metadata")


async def test_sec_47_redirect_uri_count_is_capped(client: httpx.AsyncClient) -> None:
    uris = [f"https://app.example/cb{i}" for i in range(11)]
    response = await register(client, {**PUBLIC, "redirect_uris": uris})
    assert_error(response, 400, "invalid_client_metadata")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"redirect_uris=https://app.example/cb", "application/x-www-form-urlencoded"),
        (b"[]", "application/json"),
        (b"{not json", "application/json"),
        (b'{"client_name": "a", "client_name": "b"}', "application/json"),
        (b'{"client_name": NaN}', "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"", "application/json"),
    ],
)
async def test_body_must_be_one_json_object(
    client: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    response = await client.post(
        "/register", content=content, headers={"Content-Type": content_type}
    )
    assert_error(response, 400, "invalid_client_metadata")


async def test_get_on_the_registration_endpoint_is_405(client: httpx.AsyncClient) -> None:
    assert (await client.get("/register")).status_code == 405


async def test_registration_can_be_disabled(make_app: Any) -> None:
    app, _ = await make_app(registration={"enabled": False})
    async with asgi_client(app) as c:
        assert (await register(c, PUBLIC)).status_code == 404


# --- hygiene: idempotent re-registration, quota, initial access token ---------------------


async def test_identical_public_registration_returns_the_same_client(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    first = (await register(client, PUBLIC)).json()
    again = await register(client, PUBLIC)
    assert again.status_code == 201
    second = again.json()
    assert second["client_id"] == first["client_id"]
    assert second["registration_access_token"] != first["registration_access_token"]
    # The earlier token was replaced: only the newest one manages the client.
    uri = second["registration_client_uri"]
    stale = await client.get(uri, headers=bearer(first["registration_access_token"]))
    assert_error(stale, 401, "invalid_token")
    assert (
        await client.get(uri, headers=bearer(second["registration_access_token"]))
    ).status_code == 200
    async with ctx.db.unit_of_work() as stores:
        assert await stores.clients.count("dynamic") == 1


async def test_changed_metadata_is_a_new_client(client: httpx.AsyncClient) -> None:
    first = (await register(client, PUBLIC)).json()
    other = (await register(client, {**PUBLIC, "client_name": "Other"})).json()
    assert other["client_id"] != first["client_id"]


async def test_identical_registration_from_another_source_is_a_new_client(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    first = (await register(client, PUBLIC)).json()
    async with asgi_client(app, ip="198.51.100.9") as other:
        second = (await register(other, PUBLIC)).json()
    assert second["client_id"] != first["client_id"]


async def test_confidential_registrations_are_never_merged(client: httpx.AsyncClient) -> None:
    first = (await register(client, CONFIDENTIAL)).json()
    second = (await register(client, CONFIDENTIAL)).json()
    assert first["client_id"] != second["client_id"]


async def test_total_quota(make_app: Any) -> None:
    app, _ = await make_app(registration={"max_clients": 2})
    async with asgi_client(app) as c:
        first = await register(c, PUBLIC)
        await register(c, CONFIDENTIAL)
        full = await register(c, {**PUBLIC, "client_name": "Third"})
        assert_error(full, 503, "temporarily_unavailable")
        assert int(full.headers["retry-after"]) > 0
        # Registering an existing public client again adds nothing, so it still works.
        again = await register(c, PUBLIC)
        assert again.status_code == 201
        assert again.json()["client_id"] == first.json()["client_id"]


async def test_initial_access_token(make_app: Any) -> None:
    app, _ = await make_app(registration={"initial_access_token": "iat-" + "x" * 40})
    async with asgi_client(app) as c:
        missing = await register(c, PUBLIC)
        assert_error(missing, 401, "invalid_token")
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await register(c, PUBLIC, headers=bearer("iat-" + "y" * 40))
        assert_error(wrong, 401, "invalid_token")
        right = await register(c, PUBLIC, headers=bearer("iat-" + "x" * 40))
        assert right.status_code == 201


# --- software statements (RFC 7591 §2.3) --------------------------------------------------


def statement(key: ECKey, claims: dict[str, Any], iss: str = PUBLISHER) -> str:
    return jwt.encode({"alg": "ES256"}, {"iss": iss, **claims}, key)


@pytest.fixture
def publisher_key() -> ECKey:
    return ECKey.generate_key("P-256")


@pytest.fixture
async def statement_app(make_app: Any, publisher_key: ECKey) -> Starlette:
    jwks = json.dumps({"keys": [publisher_key.as_dict(private=False)]})
    app, _ = await make_app(registration={"trusted_software_statement_issuers": {PUBLISHER: jwks}})
    return app


async def test_trusted_software_statement_overrides_the_json(
    statement_app: Starlette, publisher_key: ECKey, clock: FrozenClock
) -> None:
    signed = statement(
        publisher_key,
        {
            "client_name": "Vetted Service",
            "software_id": "svc-1",
            "client_kind": "service",
            "grant_types": ["client_credentials"],
            "exp": int(clock.now()) + 600,
        },
    )
    async with asgi_client(statement_app) as c:
        response = await register(c, {"client_name": "Self-asserted", "software_statement": signed})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["client_name"] == "Vetted Service"
    assert body["client_kind"] == "service"
    assert body["grant_types"] == ["client_credentials"]
    assert body["software_statement"] == signed


async def test_untrusted_software_statement_issuer(
    statement_app: Starlette, publisher_key: ECKey
) -> None:
    signed = statement(publisher_key, {"client_name": "X"}, iss="https://stranger.example")
    async with asgi_client(statement_app) as c:
        response = await register(c, {**PUBLIC, "software_statement": signed})
    assert_error(response, 400, "unapproved_software_statement")


async def test_software_statement_with_a_bad_signature(statement_app: Starlette) -> None:
    forged = statement(ECKey.generate_key("P-256"), {"client_kind": "app"})
    async with asgi_client(statement_app) as c:
        response = await register(c, {**PUBLIC, "software_statement": forged})
    assert_error(response, 400, "invalid_software_statement")


async def test_expired_software_statement(
    statement_app: Starlette, publisher_key: ECKey, clock: FrozenClock
) -> None:
    signed = statement(publisher_key, {"exp": int(clock.now()) - 3600})
    async with asgi_client(statement_app) as c:
        response = await register(c, {**PUBLIC, "software_statement": signed})
    assert_error(response, 400, "invalid_software_statement")


@pytest.mark.parametrize("value", ["not-a-jwt", 42, "a.b.c"])
async def test_malformed_software_statement(statement_app: Starlette, value: Any) -> None:
    async with asgi_client(statement_app) as c:
        response = await register(c, {**PUBLIC, "software_statement": value})
    assert_error(response, 400, "invalid_software_statement")


async def test_software_statement_can_be_required(make_app: Any) -> None:
    app, _ = await make_app(registration={"require_software_statement": True})
    async with asgi_client(app) as c:
        assert_error(await register(c, PUBLIC), 400, "invalid_software_statement")


async def test_self_registered_client_cannot_claim_to_be_an_app(
    client: httpx.AsyncClient,
) -> None:
    response = await register(client, {**PUBLIC, "client_kind": "app"})
    assert_error(response, 400, "invalid_client_metadata")


# --- RFC 7592: read, update, delete -------------------------------------------------------


async def test_read_client_configuration(client: httpx.AsyncClient) -> None:
    registered = (await register(client, CONFIDENTIAL)).json()
    response = await client.get(
        registered["registration_client_uri"],
        headers=bearer(registered["registration_access_token"]),
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert "client_secret" not in body
    expected = {k: v for k, v in registered.items() if k != "client_secret"}
    assert body == expected


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic Zm9vOmJhcg=="}, bearer("nope")],
)
async def test_management_needs_the_registration_access_token(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    registered = (await register(client, PUBLIC)).json()
    response = await client.get(registered["registration_client_uri"], headers=headers)
    assert_error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_unknown_client_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/register/nope", headers=bearer("x" * 43))
    assert_error(response, 401, "invalid_token")


async def test_sec_48_token_of_another_client_is_refused_and_revoked(
    client: httpx.AsyncClient,
) -> None:
    a = (await register(client, PUBLIC)).json()
    b = (await register(client, CONFIDENTIAL)).json()
    misused = await client.get(
        a["registration_client_uri"], headers=bearer(b["registration_access_token"])
    )
    assert_error(misused, 401, "invalid_token")
    own = await client.get(
        b["registration_client_uri"], headers=bearer(b["registration_access_token"])
    )
    assert_error(own, 401, "invalid_token")
    # A's own token is unaffected.
    a_own = await client.get(
        a["registration_client_uri"], headers=bearer(a["registration_access_token"])
    )
    assert a_own.status_code == 200


async def test_update_rotates_the_registration_access_token(client: httpx.AsyncClient) -> None:
    registered = (await register(client, PUBLIC)).json()
    uri, old_token = registered["registration_client_uri"], registered["registration_access_token"]
    update = {**PUBLIC, "client_id": registered["client_id"], "client_name": "Renamed"}
    response = await client.put(uri, json=update, headers=bearer(old_token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["client_name"] == "Renamed"
    assert body["client_id"] == registered["client_id"]
    assert body["client_id_issued_at"] == registered["client_id_issued_at"]
    new_token = body["registration_access_token"]
    assert new_token != old_token
    assert_error(await client.get(uri, headers=bearer(old_token)), 401, "invalid_token")
    assert (await client.get(uri, headers=bearer(new_token))).json()["client_name"] == "Renamed"


async def test_sec_49_update_reruns_every_check(client: httpx.AsyncClient) -> None:
    registered = (await register(client, PUBLIC)).json()
    uri, token = registered["registration_client_uri"], registered["registration_access_token"]
    bad = {**PUBLIC, "client_id": registered["client_id"], "redirect_uris": ["http://evil.test/cb"]}
    assert_error(
        await client.put(uri, json=bad, headers=bearer(token)), 400, "invalid_redirect_uri"
    )
    for fields in ({"scope": "admin"}, {"grant_types": ["password"]}, {"client_kind": "app"}):
        update = {**PUBLIC, "client_id": registered["client_id"], **fields}
        response = await client.put(uri, json=update, headers=bearer(token))
        assert_error(response, 400, "invalid_client_metadata")
    # Nothing changed, and the token still works (a refused update rotates nothing).
    current = (await client.get(uri, headers=bearer(token))).json()
    assert current["redirect_uris"] == [CB]


@pytest.mark.parametrize("client_id", ["other-client", None, 7])
async def test_sec_49_client_id_cannot_change(client: httpx.AsyncClient, client_id: Any) -> None:
    registered = (await register(client, PUBLIC)).json()
    update = {**PUBLIC, **({"client_id": client_id} if client_id is not None else {})}
    response = await client.put(
        registered["registration_client_uri"],
        json=update,
        headers=bearer(registered["registration_access_token"]),
    )
    assert_error(response, 400, "invalid_client_metadata")


async def test_sec_49_client_secret_cannot_be_chosen(client: httpx.AsyncClient) -> None:
    registered = (await register(client, CONFIDENTIAL)).json()
    uri, token = registered["registration_client_uri"], registered["registration_access_token"]
    base = {**CONFIDENTIAL, "client_id": registered["client_id"]}
    chosen = await client.put(uri, json={**base, "client_secret": "mine"}, headers=bearer(token))
    assert_error(chosen, 400, "invalid_client_metadata")
    # Echoing the issued secret is allowed (RFC 7592 §2.2), and keeps it.
    same = {**base, "client_secret": registered["client_secret"]}
    response = await client.put(uri, json=same, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert "client_secret" not in response.json()


async def test_update_to_a_confidential_method_issues_a_secret(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    registered = (await register(client, PUBLIC)).json()
    update = {
        **PUBLIC,
        "client_id": registered["client_id"],
        "token_endpoint_auth_method": "client_secret_post",
    }
    response = await client.put(
        registered["registration_client_uri"],
        json=update,
        headers=bearer(registered["registration_access_token"]),
    )
    body = response.json()
    assert body["token_endpoint_auth_method"] == "client_secret_post"
    async with ctx.db.unit_of_work() as stores:
        stored = await stores.clients.get(registered["client_id"])
    assert stored is not None and stored.secret_hash is not None
    assert ctx.hasher.verify(body["client_secret"], stored.secret_hash)


async def _consent(ctx: AppContext, client_id: str) -> None:
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as stores:
        await stores.consents.put(
            Consent(
                user_id="usr_alice",
                client_id=client_id,
                scopes=frozenset({"read:calendar"}),
                resources=frozenset(),
                redirect_uri=CB,
                granted_at=now,
                updated_at=now,
            )
        )


async def _has_consent(ctx: AppContext, client_id: str) -> bool:
    async with ctx.db.unit_of_work() as stores:
        return await stores.consents.get("usr_alice", client_id) is not None


async def test_sec_51_new_redirect_uris_drop_consent(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    registered = (await register(client, PUBLIC)).json()
    uri, token = registered["registration_client_uri"], registered["registration_access_token"]
    await _consent(ctx, registered["client_id"])

    renamed = {**PUBLIC, "client_id": registered["client_id"], "client_name": "Renamed"}
    token = (await client.put(uri, json=renamed, headers=bearer(token))).json()[
        "registration_access_token"
    ]
    assert await _has_consent(ctx, registered["client_id"])

    moved = {**renamed, "redirect_uris": ["https://app.example/other"]}
    response = await client.put(uri, json=moved, headers=bearer(token))
    assert response.status_code == 200
    assert not await _has_consent(ctx, registered["client_id"])


async def test_sec_51_new_auth_method_drops_consent(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    registered = (await register(client, PUBLIC)).json()
    await _consent(ctx, registered["client_id"])
    update = {
        **PUBLIC,
        "client_id": registered["client_id"],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    await client.put(
        registered["registration_client_uri"],
        json=update,
        headers=bearer(registered["registration_access_token"]),
    )
    assert not await _has_consent(ctx, registered["client_id"])


async def test_sec_50_delete_revokes_everything(client: httpx.AsyncClient, ctx: AppContext) -> None:
    registered = (
        await register(
            client, {**CONFIDENTIAL, "grant_types": ["authorization_code", "refresh_token"]}
        )
    ).json()
    client_id, secret = registered["client_id"], registered["client_secret"]
    await add_user(ctx)
    code, _ = await issue_code(ctx, client_id)
    tokens = await token_request(
        client,
        {"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER},
        headers=basic(client_id, secret),
    )
    assert tokens.status_code == 200, tokens.text
    await _consent(ctx, client_id)

    uri, token = registered["registration_client_uri"], registered["registration_access_token"]
    deleted = await client.delete(uri, headers=bearer(token))
    assert deleted.status_code == 204
    assert deleted.content == b""

    assert_error(await client.get(uri, headers=bearer(token)), 401, "invalid_token")
    again = await token_request(
        client,
        {"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]},
        headers=basic(client_id, secret),
    )
    assert again.status_code in (400, 401)
    assert again.json()["error"] in ("invalid_grant", "invalid_client")
    async with ctx.db.unit_of_work() as stores:
        assert await stores.clients.get(client_id) is None
        assert await stores.consents.get("usr_alice", client_id) is None
    grant_ids = await _grant_ids(ctx, client_id)
    assert grant_ids
    async with ctx.db.unit_of_work() as stores:
        for grant_id in grant_ids:
            grant = await stores.grants.get(grant_id)
            assert grant is not None and grant.revoked_at is not None
    assert ("client.deleted", client_id) in await audit_events(ctx)


async def _grant_ids(ctx: AppContext, client_id: str) -> list[str]:
    async with ctx.db.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT grant_id FROM grants WHERE client_id = :c"), {"c": client_id}
        )
        return [r[0] for r in rows]


# --- audit and reaping --------------------------------------------------------------------


async def test_registration_events_are_audited(client: httpx.AsyncClient, ctx: AppContext) -> None:
    registered = (await register(client, PUBLIC)).json()
    client_id = registered["client_id"]
    await client.put(
        registered["registration_client_uri"],
        json={**PUBLIC, "client_id": client_id, "client_name": "Renamed"},
        headers=bearer(registered["registration_access_token"]),
    )
    events = await audit_events(ctx)
    assert ("client.registered", client_id) in events
    assert ("client.updated", client_id) in events


async def test_idle_dynamic_clients_are_reaped(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    idle = (await register(client, PUBLIC)).json()
    used = (await register(client, CONFIDENTIAL)).json()
    clock.advance(ctx.settings.registration.idle_reap_seconds - 10)
    async with ctx.db.unit_of_work() as stores:
        await stores.clients.touch(used["client_id"], clock.now())
        await stores.grants.add(
            Grant(
                grant_id="grt_idle",
                client_id=idle["client_id"],
                user_id="usr_alice",
                scope="read:calendar",
                resources=(),
                created_at=clock.now(),
                expires_at=clock.now() + 86400 * 90,
            )
        )
    assert await reap_once(ctx) == []
    clock.advance(20)
    assert await reap_once(ctx) == [idle["client_id"]]

    response = await client.get(
        idle["registration_client_uri"], headers=bearer(idle["registration_access_token"])
    )
    assert_error(response, 401, "invalid_token")
    async with ctx.db.unit_of_work() as stores:
        grant = await stores.grants.get("grt_idle")
        assert grant is not None and grant.revoked_at is not None
        assert await stores.clients.get(used["client_id"]) is not None
    assert ("client.reaped", idle["client_id"]) in await audit_events(ctx)
