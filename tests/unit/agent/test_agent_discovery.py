"""Discovery: RFC 9728 Protected Resource Metadata, then RFC 8414 / OIDC metadata (C1, C2, C4,
AS3/C9), over a mock transport that answers only the URLs a test gives it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from agent_support import ISSUER, PRM_URL, RESOURCE, json_response, server_metadata

from warden.agent.discovery import discover, server_metadata_urls
from warden.agent.errors import DiscoveryError

PRM = {"resource": RESOURCE, "authorization_servers": [ISSUER], "scopes_supported": ["read"]}
AS_URL = f"{ISSUER}/.well-known/oauth-authorization-server"


class Web:
    """Serves ``pages`` (URL → response); everything else is 404. Records what was asked."""

    def __init__(self, pages: dict[str, httpx.Response]) -> None:
        self.pages = pages
        self.asked: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(str(request.url))
        return self.pages.get(str(request.url), json_response(404, {}))

    async def discover(self, url: str = RESOURCE, **kwargs: Any) -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(self.handle)) as http:
            return await discover(http, url, **kwargs)


def web(prm: Any = PRM, metadata: Any = None, prm_url: str = PRM_URL) -> Web:
    return Web(
        {
            prm_url: json_response(200, prm),
            AS_URL: json_response(200, metadata or server_metadata()),
        }
    )


async def test_advertised_resource_metadata_is_used_alone() -> None:
    site = web(prm_url="https://rs.test/meta")
    found = await site.discover(resource_metadata="https://rs.test/meta")
    assert site.asked == ["https://rs.test/meta", AS_URL]
    assert found.resource.resource == RESOURCE
    assert found.resource.scopes_supported == ("read",)
    assert found.server.issuer == ISSUER
    assert found.server.iss_parameter_supported is True


async def test_advertised_url_that_fails_is_not_replaced_by_a_guess() -> None:
    site = web()
    with pytest.raises(DiscoveryError):
        await site.discover(resource_metadata="https://rs.test/missing")
    assert site.asked == ["https://rs.test/missing"]


async def test_c1_path_inserted_then_root_well_known() -> None:
    root = "https://rs.test/.well-known/oauth-protected-resource"
    site = web(prm_url=root)
    await site.discover("https://rs.test/mcp/")
    assert site.asked[:2] == [PRM_URL, root]


async def test_c1_resource_at_the_root_probes_one_url() -> None:
    root = "https://rs.test/.well-known/oauth-protected-resource"
    site = web({**PRM, "resource": "https://rs.test"}, prm_url=root)
    found = await site.discover("https://rs.test")
    assert site.asked[0] == root and found.resource.resource == "https://rs.test"


@pytest.mark.parametrize(
    "resource",
    [
        "https://rs.test/mcp",
        "https://rs.test/mcp/",
        "https://RS.test/mcp",
        "https://rs.test:443/mcp",
        "https://rs.test",
        "https://rs.test/",
    ],
)
async def test_prm_resource_at_or_above_the_url_is_accepted(resource: str) -> None:
    found = await web({**PRM, "resource": resource}).discover(
        "https://rs.test/mcp/tools", resource_metadata=PRM_URL
    )
    assert found.resource.resource == resource


@pytest.mark.parametrize(
    "resource",
    [
        "https://rs.test/other",
        "https://rs.test/mc",
        "https://rs.test/mcp/tools/deeper",
        "https://evil.test/mcp",
        "http://rs.test/mcp",
        "https://rs.test:8443/mcp",
        "https://rs.test/mcp#frag",
    ],
)
async def test_prm_resource_not_a_same_origin_prefix_is_refused(resource: str) -> None:
    with pytest.raises(DiscoveryError, match="does not cover"):
        await web({**PRM, "resource": resource}).discover(
            "https://rs.test/mcp/tools", resource_metadata=PRM_URL
        )


@pytest.mark.parametrize(
    "prm",
    [
        {"authorization_servers": [ISSUER]},
        {"resource": RESOURCE},
        {"resource": RESOURCE, "authorization_servers": []},
        {"resource": RESOURCE, "authorization_servers": "https://as.test"},
        {"resource": RESOURCE, "authorization_servers": [7]},
        ["not", "an", "object"],
    ],
)
async def test_prm_requires_resource_and_authorization_servers(prm: Any) -> None:
    with pytest.raises(DiscoveryError):
        await web(prm).discover()


def test_c2_probe_order_for_an_issuer_with_a_path() -> None:
    assert server_metadata_urls("https://as.test/t1") == [
        "https://as.test/.well-known/oauth-authorization-server/t1",
        "https://as.test/.well-known/openid-configuration/t1",
        "https://as.test/t1/.well-known/openid-configuration",
    ]


def test_c2_probe_order_for_a_root_issuer() -> None:
    assert server_metadata_urls("https://as.test") == [
        "https://as.test/.well-known/oauth-authorization-server",
        "https://as.test/.well-known/openid-configuration",
    ]


async def test_c2_falls_through_4xx_and_3xx_to_oidc_discovery() -> None:
    issuer = "https://as.test/t1"
    last = "https://as.test/t1/.well-known/openid-configuration"
    site = Web(
        {
            PRM_URL: json_response(200, {**PRM, "authorization_servers": [issuer]}),
            "https://as.test/.well-known/oauth-authorization-server/t1": httpx.Response(
                302, headers={"Location": last}
            ),
            last: json_response(200, server_metadata(issuer)),
        }
    )
    found = await site.discover()
    assert found.server.issuer == issuer
    assert site.asked[1:] == server_metadata_urls(issuer)  # the redirect was not followed


async def test_c2_server_error_stops_the_probe() -> None:
    site = Web({PRM_URL: json_response(200, PRM), AS_URL: json_response(503, {})})
    with pytest.raises(DiscoveryError, match="503"):
        await site.discover()
    assert site.asked == [PRM_URL, AS_URL]


@pytest.mark.parametrize(
    ("listed", "claimed"),
    [
        ("https://as.test", "https://as.test/"),
        ("https://as.test/", "https://as.test"),
        ("https://as.test", "https://AS.test"),
        ("https://as.test", "https://evil.test"),
        ("https://as.test/t1", "https://as.test/t1/"),
    ],
)
async def test_as3_issuer_must_equal_the_listed_server_exactly(listed: str, claimed: str) -> None:
    pages = {PRM_URL: json_response(200, {**PRM, "authorization_servers": [listed]})}
    for url in server_metadata_urls(listed):
        pages[url] = json_response(200, server_metadata(claimed))
    with pytest.raises(DiscoveryError, match="issuer"):
        await Web(pages).discover()


@pytest.mark.parametrize("methods", [None, [], ["plain"], "S256"])
async def test_c4_refuses_a_server_without_s256(methods: Any) -> None:
    metadata = server_metadata(code_challenge_methods_supported=methods)
    with pytest.raises(DiscoveryError, match="S256"):
        await web(metadata=metadata).discover()


@pytest.mark.parametrize(
    "field", ["token_endpoint", "authorization_endpoint", "registration_endpoint"]
)
async def test_endpoints_must_be_https(field: str) -> None:
    metadata = server_metadata(**{field: "http://as.test/x"})
    with pytest.raises(DiscoveryError, match=field):
        await web(metadata=metadata).discover()


async def test_loopback_http_issuer_is_allowed() -> None:
    issuer = "http://127.0.0.1:9000"
    pages = {
        PRM_URL: json_response(200, {**PRM, "authorization_servers": [issuer]}),
        f"{issuer}/.well-known/oauth-authorization-server": json_response(
            200, server_metadata(issuer)
        ),
    }
    assert (await Web(pages).discover()).server.token_endpoint == f"{issuer}/token"


async def test_plain_http_issuer_elsewhere_is_refused() -> None:
    prm = {**PRM, "authorization_servers": ["http://as.test"]}
    with pytest.raises(DiscoveryError, match="https"):
        await web(prm).discover()


async def test_token_endpoint_is_required() -> None:
    with pytest.raises(DiscoveryError, match="token_endpoint"):
        await web(metadata=server_metadata(token_endpoint=None)).discover()


async def test_metadata_that_is_not_json_is_refused() -> None:
    site = Web({PRM_URL: httpx.Response(200, text="<html>hi</html>")})
    with pytest.raises(DiscoveryError, match="JSON"):
        await site.discover()


async def test_untrusted_issuer_is_refused_before_any_request_to_it() -> None:
    site = web()
    with pytest.raises(DiscoveryError, match="trusted"):
        await site.discover(trusted_issuers={"https://other.test"})
    assert site.asked == [PRM_URL]


async def test_nothing_found_names_the_urls_tried() -> None:
    with pytest.raises(DiscoveryError, match="oauth-protected-resource"):
        await Web({}).discover()
