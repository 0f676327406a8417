"""CORS as Janssen's CorsFilter does it (docs/configuration.md), through a real server with
the default `corsConfigurationFilters`."""

from __future__ import annotations

import httpx
import pytest

from tests.support.server import AUTH, Client, Server

APP = "https://app.example.com"
EVIL = "https://evil.example.net"


def preflight(
    server: Server, path: str, origin: str, method: str = "POST", headers: str | None = None
) -> httpx.Response:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    with server.http() as http:
        return http.options(path, headers=request_headers)


def assert_cors(response: httpx.Response, origin: str) -> None:
    # With credentials allowed the origin is echoed (browsers refuse "*" then).
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "origin" in response.headers.get("vary", "").lower()


def assert_no_cors(response: httpx.Response) -> None:
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return server.create_client(name="anywhere")


@pytest.fixture(scope="module")
def narrow(server: Server) -> Client:
    return server.create_client("--authorized-origin", APP, name="spa-backend")


# -- the default filter -----------------------------------------------------------------
@pytest.mark.parametrize("path", [f"{AUTH}/revoke", f"{AUTH}/token", f"{AUTH}/introspection"])
def test_preflight(server: Server, path: str) -> None:
    response = preflight(server, path, APP, headers="authorization, content-type")
    assert response.status_code == 200
    assert_cors(response, APP)
    assert response.headers["access-control-allow-methods"] == "GET,POST,HEAD,OPTIONS"
    assert response.headers["access-control-max-age"] == "1800"
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed


def test_preflight_for_a_method_not_allowed_is_refused(server: Server) -> None:
    response = preflight(server, f"{AUTH}/revoke", APP, method="DELETE")
    assert response.status_code == 403
    assert_no_cors(response)


def test_any_origin_echoed_on_revoke(server: Server, client: Client) -> None:
    token = server.fetch_token(client)["access_token"]
    for origin in (APP, EVIL, "http://localhost:3000"):
        with server.http() as http:
            response = http.post(
                f"{AUTH}/revoke",
                data={"token": token},
                auth=client.basic,
                headers={"Origin": origin},
            )
        assert response.status_code == 200
        assert_cors(response, origin)
    assert not server.is_active(token)


def test_errors_carry_cors_headers_too(server: Server, client: Client) -> None:
    with server.http() as http:
        response = http.post(
            f"{AUTH}/revoke",
            data={"token": "x"},
            headers={"Origin": APP},
            auth=(client.client_id, "wrong"),
        )
    assert response.status_code == 401
    assert_cors(response, APP)  # a browser app can read why it failed


def test_no_origin_no_cors_headers(server: Server, client: Client) -> None:
    assert_no_cors(server.send_revoke(client, token="unknown"))
    with server.http() as http:
        assert_no_cors(http.get("/.well-known/openid-configuration"))


def test_discovery_is_cors_readable(server: Server) -> None:
    with server.http() as http:
        response = http.get("/.well-known/openid-configuration", headers={"Origin": EVIL})
    assert response.status_code == 200
    assert_cors(response, EVIL)


# -- a client's authorizedOrigins narrows it --------------------------------------------
def test_authorized_origins_narrow_the_token_endpoint(
    server: Server, narrow: Client, client: Client
) -> None:
    with server.http() as http:
        good = http.post(
            f"{AUTH}/token",
            data={"grant_type": "client_credentials"},
            auth=narrow.basic,
            headers={"Origin": APP},
        )
        bad = http.post(
            f"{AUTH}/token",
            data={"grant_type": "client_credentials"},
            auth=narrow.basic,
            headers={"Origin": EVIL},
        )
        unrestricted = http.post(
            f"{AUTH}/token",
            data={"grant_type": "client_credentials"},
            auth=client.basic,
            headers={"Origin": EVIL},
        )
    assert good.status_code == bad.status_code == unrestricted.status_code == 200
    assert_cors(good, APP)
    assert_no_cors(bad)  # the browser will not hand the response to evil's script
    assert_cors(unrestricted, EVIL)


def test_authorized_origins_narrow_the_revocation_endpoint(server: Server, narrow: Client) -> None:
    tokens = [server.fetch_token(narrow)["access_token"] for _ in range(2)]
    with server.http() as http:
        good = http.post(
            f"{AUTH}/revoke", data={"token": tokens[0]}, auth=narrow.basic, headers={"Origin": APP}
        )
        bad = http.post(
            f"{AUTH}/revoke", data={"token": tokens[1]}, auth=narrow.basic, headers={"Origin": EVIL}
        )
    assert good.status_code == bad.status_code == 200
    assert_cors(good, APP)
    assert_no_cors(bad)
    # CORS only decides who may read the answer; the revocation itself happened.
    assert not server.is_active(tokens[0]) and not server.is_active(tokens[1])
