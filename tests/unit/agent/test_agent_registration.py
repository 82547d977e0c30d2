"""Client credentials: pre-registered, Client ID Metadata Document or RFC 7591 (C3, C11)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
import pytest
from agent_support import ISSUER, REDIRECT_URI, json_response

from warden.agent.discovery import ServerMetadata
from warden.agent.errors import RegistrationError
from warden.agent.registration import (
    AgentProfile,
    ClientCredentials,
    build_registration_request,
    register_dynamically,
    resolve_client,
)

SERVER = ServerMetadata(
    issuer=ISSUER,
    token_endpoint=f"{ISSUER}/token",
    registration_endpoint=f"{ISSUER}/register",
    client_id_metadata_document_supported=True,
)
CIMD = "https://agent.example/client.json"
CODE_GRANTS = ("authorization_code", "refresh_token")
REQUEST = build_registration_request(
    AgentProfile(client_name="Calendar agent"),
    redirect_uris=(REDIRECT_URI,),
    grant_types=CODE_GRANTS,
    auth_method="none",
)


def resolve(
    profile: AgentProfile, server: ServerMetadata = SERVER, stored: ClientCredentials | None = None
) -> ClientCredentials | None:
    return resolve_client(
        profile, server, stored, redirect_uris=(REDIRECT_URI,), grant_types=CODE_GRANTS
    )


async def register(answer: httpx.Response, server: ServerMetadata = SERVER) -> ClientCredentials:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        client = await register_dynamically(http, server, REQUEST)
    assert json.loads(seen[0].content) == REQUEST
    return client


def test_registration_request_body() -> None:
    assert REQUEST == {
        "client_name": "Calendar agent",
        "application_type": "native",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "redirect_uris": [REDIRECT_URI],
        "client_kind": "agent",
    }


def test_device_agent_registers_without_redirect_uris_or_response_types() -> None:
    body = build_registration_request(
        AgentProfile(client_kind=None, metadata={"software_id": "x"}),
        redirect_uris=(),
        grant_types=("urn:ietf:params:oauth:grant-type:device_code",),
        auth_method="none",
    )
    assert body["response_types"] == [] and "redirect_uris" not in body
    assert "client_kind" not in body and body["software_id"] == "x"


def test_c3_preregistered_credentials_come_first() -> None:
    mine = ClientCredentials("static_1", "s3cret", "client_secret_basic")
    profile = AgentProfile(client_id_metadata_document=CIMD, preregistered={ISSUER: mine})
    assert resolve(profile) is mine


def test_c11_preregistered_credentials_are_never_used_at_another_issuer() -> None:
    mine = ClientCredentials("static_1", "s3cret", "client_secret_basic")
    profile = AgentProfile(preregistered={"https://other.test": mine})
    assert resolve(profile) is None


def test_c3_metadata_document_when_the_server_supports_it() -> None:
    client = resolve(AgentProfile(client_id_metadata_document=CIMD))
    assert client is not None
    assert (client.client_id, client.origin, client.token_endpoint_auth_method) == (
        CIMD,
        "cimd",
        "none",
    )


def test_c3_no_metadata_document_when_the_server_does_not_advertise_it() -> None:
    server = replace(SERVER, client_id_metadata_document_supported=False)
    assert resolve(AgentProfile(client_id_metadata_document=CIMD), server) is None


def test_stored_registration_is_reused_while_it_covers_the_flow() -> None:
    stored = ClientCredentials(
        "dyn_1", origin="dynamic", redirect_uris=(REDIRECT_URI,), grant_types=CODE_GRANTS
    )
    assert resolve(AgentProfile(), stored=stored) is stored
    moved = replace(stored, redirect_uris=("http://127.0.0.1/other",))
    assert resolve(AgentProfile(), stored=moved) is None
    fewer = replace(stored, grant_types=("authorization_code",))
    assert resolve(AgentProfile(), stored=fewer) is None


@pytest.mark.parametrize(
    "url", ["https://agent.example", "https://agent.example/", "ftp://a.example/x", "x"]
)
def test_metadata_document_url_needs_a_path(url: str) -> None:
    with pytest.raises(ValueError):
        AgentProfile(client_id_metadata_document=url)


async def test_dynamic_registration_reads_the_client_information() -> None:
    client = await register(json_response(201, {"client_id": "dyn_1", **REQUEST}))
    assert client == ClientCredentials(
        "dyn_1",
        origin="dynamic",
        redirect_uris=(REDIRECT_URI,),
        grant_types=CODE_GRANTS,
    )


async def test_server_may_assign_a_secret() -> None:
    body = {
        "client_id": "dyn_1",
        "client_secret": "s",
        "token_endpoint_auth_method": "client_secret_post",
    }
    client = await register(json_response(201, body))
    assert (client.client_secret, client.token_endpoint_auth_method) == ("s", "client_secret_post")


@pytest.mark.parametrize(
    "body",
    [
        {"client_id": "dyn_1", "token_endpoint_auth_method": "private_key_jwt"},
        {"client_id": "dyn_1", "token_endpoint_auth_method": "client_secret_basic"},
        {"client_secret": "s"},
        {"client_id": ""},
    ],
)
async def test_unusable_client_information_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(RegistrationError):
        await register(json_response(201, body))


async def test_refusal_carries_the_rfc_7591_error() -> None:
    answer = json_response(400, {"error": "invalid_redirect_uri", "error_description": "no"})
    with pytest.raises(RegistrationError) as refused:
        await register(answer)
    assert (refused.value.error, refused.value.description) == ("invalid_redirect_uri", "no")


async def test_no_registration_endpoint() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(RegistrationError, match="no registration endpoint"):
            await register_dynamically(http, replace(SERVER, registration_endpoint=None), REQUEST)


def test_credentials_round_trip_through_a_dict() -> None:
    client = ClientCredentials(
        "dyn_1", "s", "client_secret_basic", "dynamic", (REDIRECT_URI,), CODE_GRANTS
    )
    assert ClientCredentials.from_dict(client.to_dict()) == client
