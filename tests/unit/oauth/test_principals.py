"""How clients are presented (issue 4, item 1): kind, publisher, software and trust (SEC-67)."""

from __future__ import annotations

import base64
import json
from typing import Any

from warden.oauth.model import Client
from warden.oauth.principals import BADGE_COLOURS, client_profile


def make(origin: str = "dynamic", kind: str = "agent", **metadata: Any) -> Client:
    return Client(
        client_id="https://agent.example/cid" if origin == "cimd" else "c_1",
        origin=origin,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        token_endpoint_auth_method="none",
        redirect_uris=("https://agent.example/cb",),
        grant_types=("authorization_code",),
        metadata=metadata,
    )


def statement(claims: dict[str, Any]) -> str:
    """A compact JWS shape; its signature was checked at registration, not here."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'ES256'})}.{part(claims)}.c2ln"


def test_an_administrators_client_is_verified_and_named_by_its_publisher() -> None:
    profile = client_profile(make("static", "app", client_name="Portal", publisher="Example Co"))
    assert (profile.name, profile.kind_label, profile.is_agent) == ("Portal", "App", False)
    assert profile.verified and profile.vouched_by == "your administrator"
    assert profile.publisher == "Example Co"


def test_a_self_registered_agent_is_unverified_and_its_publisher_is_its_client_uri_host() -> None:
    profile = client_profile(
        make(client_name="Helper", publisher="Google LLC", client_uri="https://agent.example/x")
    )
    assert profile.kind_label == "AI agent" and profile.is_agent
    assert not profile.verified and profile.vouched_by is None
    assert profile.publisher == "agent.example"  # never the self-asserted name


def test_a_trusted_software_statement_vouches_for_a_dynamic_client() -> None:
    signed = statement({"iss": "https://publisher.example", "software_id": "helper"})
    profile = client_profile(
        make(publisher="Publisher Inc", software_statement=signed, software_id="helper")
    )
    assert profile.verified and profile.vouched_by == "publisher.example"
    assert profile.publisher == "Publisher Inc"
    assert profile.software_id == "helper"


def test_a_cimd_client_shows_the_host_of_its_identity() -> None:
    profile = client_profile(make("cimd", software_version="1.2"))
    assert profile.client_id_host == "agent.example"
    assert profile.name == "https://agent.example/cid"  # no client_name: the id itself
    assert profile.software_version == "1.2" and profile.software_id is None
    assert not profile.verified


def test_the_badge_is_the_first_letter_or_digit_and_a_stable_colour() -> None:
    assert client_profile(make(client_name="<img src=x>")).initial == "I"
    assert client_profile(make(client_name="été")).initial == "É"
    assert client_profile(make(client_name="--")).initial == "?"
    one, two = client_profile(make()), client_profile(make())
    assert one.colour == two.colour and 0 <= one.colour < BADGE_COLOURS


def test_a_service_is_labelled_as_one() -> None:
    assert client_profile(make("static", "service")).kind_label == "Service"
