"""warden.resource alone: a small app behind RequireBearer, tokens from a fake issuer.

Each refusal is asserted on the wire: status, the ``WWW-Authenticate`` challenge (RFC 6750 §3,
RFC 9728 §5.1), the JSON error code, and the CORS header that lets browser clients read it.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.unit.resource.support import (
    ISSUER,
    JWKS_URL,
    OTHER_RESOURCE,
    RESOURCE,
    FakeAuthorizationServer,
    b64,
    encode_json,
    hs256,
    new_key,
    sign,
    unsigned,
)

from warden.clock import FrozenClock
from warden.resource import (
    Principal,
    ProtectedResourceMetadata,
    RequireBearer,
    TokenVerifier,
    current_principal,
    parse_bearer_challenge,
    require_scopes,
)

PRM_URL = "https://rs.example/.well-known/oauth-protected-resource/mcp"
ADVERTISED = "read:calendar:next-7-days"
METADATA = ProtectedResourceMetadata(
    resource=RESOURCE, authorization_servers=[ISSUER], scopes_supported=[ADVERTISED]
)


async def whoami(request: Request) -> JSONResponse:
    principal: Principal = request.state.principal
    assert request.auth is principal
    assert current_principal() is principal
    return JSONResponse({"sub": principal.subject, "scopes": sorted(principal.scopes)})


async def send_email(request: Request) -> JSONResponse:
    require_scopes(request.state.principal, "write:email:send")
    return JSONResponse({"sent": True})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


@pytest.fixture
def issuer(clock: FrozenClock) -> FakeAuthorizationServer:
    return FakeAuthorizationServer(clock=clock)


@pytest.fixture
async def client(
    issuer: FakeAuthorizationServer, clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    async with issuer.http() as http:
        verifier = TokenVerifier(issuer=ISSUER, resource=RESOURCE, http=http, clock=clock)
        app = Starlette(
            routes=[
                Route("/mcp", whoami),
                Route("/email/send", send_email, methods=["POST"]),
                Route("/healthz", healthz),
            ],
            middleware=[
                Middleware(
                    RequireBearer,
                    verifier=verifier,
                    metadata=METADATA,
                    required_scopes=[ADVERTISED],
                    exempt_paths=["/healthz"],
                )
            ],
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://rs.example") as c:
            yield c


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def call(client: httpx.AsyncClient, token: str | None, path: str = "/mcp") -> httpx.Response:
    return await client.get(path, headers=bearer(token) if token is not None else {})


def assert_challenge(response: httpx.Response, status: int, **attributes: str) -> None:
    assert response.status_code == status, response.text
    assert parse_bearer_challenge(response.headers["www-authenticate"]) == {
        "resource_metadata": PRM_URL,
        **attributes,
    }
    assert response.headers["access-control-expose-headers"] == "WWW-Authenticate"
    assert response.headers["cache-control"] == "no-store"


def assert_invalid_token(response: httpx.Response) -> None:
    assert_challenge(response, 401, error="invalid_token", scope=ADVERTISED)
    assert response.json() == {"error": "invalid_token"}


# --- accepted ------------------------------------------------------------------------------


async def test_valid_token_reaches_the_handler_with_its_principal(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    response = await call(client, issuer.mint())

    assert response.status_code == 200
    assert response.json() == {"sub": "usr_alice", "scopes": ["read:calendar"]}


async def test_metadata_and_exempt_paths_need_no_token(client: httpx.AsyncClient) -> None:
    for path in (
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.json()["resource"] == RESOURCE
        assert response.headers["access-control-allow-origin"] == "*"
    assert (await client.get("/healthz")).status_code == 200


async def test_cors_preflight_passes_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/mcp", headers={"origin": "https://web.example", "access-control-request-method": "GET"}
    )

    assert response.status_code != 401  # the app's own CORS handling (none here: 405) answers


# --- no token ------------------------------------------------------------------------------


async def test_no_token_gets_a_challenge_without_error(client: httpx.AsyncClient) -> None:
    response = await call(client, None)

    assert_challenge(response, 401, scope=ADVERTISED)
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == "*"


async def test_another_scheme_is_no_bearer_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/mcp", headers={"authorization": "Basic dXNlcjpwYXNz"})

    assert_challenge(response, 401, scope=ADVERTISED)


async def test_sec_84_query_access_token_is_treated_as_no_token(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    response = await client.get("/mcp", params={"access_token": issuer.mint()})

    assert_challenge(response, 401, scope=ADVERTISED)


async def test_several_authorization_headers_are_invalid_request(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    token = issuer.mint()
    headers = [("authorization", f"Bearer {token}"), ("authorization", f"Bearer {token}")]

    response = await client.get("/mcp", headers=headers)

    assert_challenge(response, 400, error="invalid_request", scope=ADVERTISED)


async def test_empty_bearer_token_is_invalid(client: httpx.AsyncClient) -> None:
    assert_invalid_token(await client.get("/mcp", headers={"authorization": "Bearer "}))


# --- refused tokens --------------------------------------------------------------------------


async def test_sec_79_token_for_another_resource_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    assert_invalid_token(await call(client, issuer.mint(aud=OTHER_RESOURCE)))
    assert_invalid_token(await call(client, issuer.mint(aud=RESOURCE + "/")))
    assert_invalid_token(await call(client, issuer.mint(aud=[OTHER_RESOURCE, "mcp"])))


async def test_sec_79_token_without_audience_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    assert_invalid_token(await call(client, issuer.mint(aud=None)))


@pytest.mark.parametrize(
    "iss", ["https://as.example/", "https://evil.example", "HTTPS://as.example"]
)
async def test_sec_78_wrong_issuer_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer, iss: str
) -> None:
    assert_invalid_token(await call(client, issuer.mint(iss=iss)))


async def test_sec_78_key_not_in_the_issuer_jwks_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    assert_invalid_token(await call(client, issuer.mint(new_key())))


async def test_sec_80_expired_token_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    now = int(issuer.clock.now())

    assert_invalid_token(await call(client, issuer.mint(exp=now - 120, iat=now - 400)))


async def test_sec_80_token_issued_in_the_future_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    now = int(issuer.clock.now())

    assert_invalid_token(await call(client, issuer.mint(iat=now + 600, exp=now + 900)))
    assert_invalid_token(await call(client, issuer.mint(nbf=now + 600)))


@pytest.mark.parametrize("alg", ["none", "nOnE", "None", "NONE"])
async def test_sec_76_alg_none_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer, alg: str
) -> None:
    token = unsigned(issuer.header(alg=alg), issuer.claims())

    assert_invalid_token(await call(client, token))


async def test_sec_76_hs256_maced_with_the_public_key_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    rsa = new_key("RS256")
    issuer.keys.append(rsa)
    assert isinstance(rsa.key, RSAKey)
    public_pem = rsa.key.as_pem(private=False)
    for secret in (public_pem, encode_json(rsa.public_jwk())):
        token = hs256(issuer.header(rsa, alg="HS256"), issuer.claims(), secret)
        assert_invalid_token(await call(client, token))
    assert (await call(client, issuer.mint(rsa))).status_code == 200  # the key itself is fine


async def test_sec_76_rs256_header_against_an_ec_key_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    rsa = new_key("RS256")
    token = sign(issuer.header(alg="RS256"), issuer.claims(), rsa.key, "RS256")

    assert_invalid_token(await call(client, token))


async def test_sec_77_other_token_types_are_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    for typ in ("JWT", "dpop+jwt", "logout+jwt", "at+jwt ", None):
        assert_invalid_token(await call(client, issuer.mint(header={"typ": typ})))


async def test_sec_77_id_token_from_the_same_issuer_and_key_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    id_token = issuer.mint(header={"typ": "JWT"}, nonce="n-0S6_WzA2Mj", azp="agent-1")

    assert_invalid_token(await call(client, id_token))


async def test_sec_81_unknown_kid_refetches_once_then_fails(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    await call(client, issuer.mint())  # keys loaded
    stranger = new_key()

    for _ in range(100):
        token = issuer.mint(stranger, header={"kid": secrets.token_urlsafe(6)})
        assert_invalid_token(await call(client, token))
        issuer.clock.advance(0.5)

    assert issuer.fetches(JWKS_URL) == 2


async def test_sec_81_rotated_key_is_accepted_after_one_refetch(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    assert (await call(client, issuer.mint())).status_code == 200
    rotated = new_key("EdDSA")
    issuer.keys.insert(0, rotated)

    assert (await call(client, issuer.mint(rotated))).status_code == 200
    assert (await call(client, issuer.mint(rotated))).status_code == 200
    assert issuer.fetches(JWKS_URL) == 2


async def test_sec_81_key_material_in_the_header_is_never_used_or_fetched(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    attacker = new_key()
    planted = {
        "jku": "https://attacker.example/jwks",
        "x5u": "https://attacker.example/cert.pem",
        "jwk": attacker.public_jwk(),
    }

    forged = issuer.mint(attacker, header=planted)
    honest = issuer.mint(header={"jku": "https://attacker.example/jwks"})

    assert_invalid_token(await call(client, forged))
    assert (await call(client, honest)).status_code == 200
    assert [r for r in issuer.requests if r.url.host == "attacker.example"] == []


@pytest.mark.parametrize("crit", [{"crit": ["foo"], "foo": 1}, {"crit": ["kid"]}])
async def test_sec_82_crit_header_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer, crit: dict[str, Any]
) -> None:
    assert_invalid_token(await call(client, issuer.mint(header=crit)))


async def test_sec_83_oversized_token_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    token = issuer.mint(padding="x" * 8000)
    assert len(token) > 8192

    assert_invalid_token(await call(client, token))
    assert_invalid_token(await call(client, "a" * 100_000))


async def test_sec_83_non_compact_serialisations_are_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    header, payload, signature = issuer.mint().split(".")
    json_form = json.dumps({"protected": header, "payload": payload, "signature": signature})

    for token in (
        json_form,
        f"{header}.{payload}.{signature}.{signature}.{signature}",  # JWE-shaped
        f"{header}=.{payload}.{signature}",
        f"{header}.{payload}",
        f'{header}.{payload}.{signature}"',
    ):
        response = await client.get("/mcp", headers={"authorization": f"Bearer {token}"})
        assert_invalid_token(response)


async def test_sec_83_duplicate_aud_member_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    claims = issuer.claims()
    del claims["aud"]
    body = (
        encode_json(claims)[:-1]
        + b',"aud":"https://other.example","aud":"'
        + RESOURCE.encode()
        + b'"}'
    )
    key = issuer.key

    token = sign(issuer.header(), body, key.key, key.alg)

    assert_invalid_token(await call(client, token))
    # The same bytes with one aud are fine, so only the duplicate was refused.
    single = encode_json(claims)[:-1] + b',"aud":"' + RESOURCE.encode() + b'"}'
    assert (await call(client, sign(issuer.header(), single, key.key, key.alg))).status_code == 200


async def test_sec_86_sender_constrained_token_as_bearer_is_refused(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    token = issuer.mint(cnf={"jkt": b64(secrets.token_bytes(32))})

    assert_invalid_token(await call(client, token))


# --- scope -----------------------------------------------------------------------------------


async def test_missing_route_scope_is_403_with_the_scopes_needed(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    response = await call(client, issuer.mint(scope="write:email:send"))

    assert_challenge(response, 403, error="insufficient_scope", scope=ADVERTISED)
    assert response.json() == {"error": "insufficient_scope"}


async def test_handler_step_up_names_every_scope_the_operation_needs(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    response = await client.post("/email/send", headers=bearer(issuer.mint()))

    assert_challenge(
        response, 403, error="insufficient_scope", scope=f"{ADVERTISED} write:email:send"
    )


async def test_step_up_token_is_accepted(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer
) -> None:
    token = issuer.mint(scope="read:calendar:next-7-days write:email:send")

    response = await client.post("/email/send", headers=bearer(token))

    assert response.status_code == 200


# --- operations ------------------------------------------------------------------------------


async def test_sec_88_tokens_never_reach_the_logs(
    client: httpx.AsyncClient, issuer: FakeAuthorizationServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good, wrong = issuer.mint(), issuer.mint(aud=OTHER_RESOURCE)

    await call(client, good)
    await call(client, wrong)
    await client.post("/email/send", headers=bearer(good))

    assert "aud does not name this resource" in caplog.text  # the reason is logged...
    for token in (good, wrong):
        for part in token.split("."):
            assert part not in caplog.text  # ...never the token


async def test_unreachable_issuer_is_503_not_401(clock: FrozenClock) -> None:
    issuer = FakeAuthorizationServer(clock=clock, jwks_status=500)
    async with issuer.http() as http:
        verifier = TokenVerifier(issuer=ISSUER, resource=RESOURCE, http=http, clock=clock)
        app = RequireBearer(whoami_asgi, verifier=verifier, metadata=METADATA)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://rs.example"
        ) as client:
            response = await call(client, issuer.mint())

    assert response.status_code == 503
    assert response.json() == {"error": "temporarily_unavailable"}
    assert response.headers["retry-after"] == "10"


async def whoami_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A framework-free app: the principal is in the scope and the context."""
    principal = scope["state"]["principal"]
    assert scope["auth"] is principal is current_principal()
    body = encode_json({"sub": principal.subject})
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_pure_asgi_app(issuer: FakeAuthorizationServer, clock: FrozenClock) -> None:
    async with issuer.http() as http:
        verifier = TokenVerifier(issuer=ISSUER, resource=RESOURCE, http=http, clock=clock)
        app = RequireBearer(whoami_asgi, verifier=verifier, metadata=METADATA)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://rs.example"
        ) as client:
            response = await call(client, issuer.mint())

    assert response.json() == {"sub": "usr_alice"}
    assert current_principal() is None


async def test_websocket_without_token_is_closed_before_accept(clock: FrozenClock) -> None:
    verifier = TokenVerifier(issuer=ISSUER, resource=RESOURCE, jwks={"keys": []}, clock=clock)
    app = RequireBearer(whoami_asgi, verifier=verifier, metadata=METADATA)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "websocket", "path": "/ws", "headers": []}, receive, send)

    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_metadata_must_match_the_verifier() -> None:
    verifier = TokenVerifier(issuer=ISSUER, resource=RESOURCE, jwks={"keys": []})
    for metadata in (
        ProtectedResourceMetadata(resource=RESOURCE + "/", authorization_servers=[ISSUER]),
        ProtectedResourceMetadata(resource=RESOURCE, authorization_servers=[ISSUER + "/"]),
    ):
        with pytest.raises(ValueError):
            RequireBearer(whoami_asgi, verifier=verifier, metadata=metadata)
