"""Every client authentication method, through a real `tokenrevoke serve` (plain HTTP), at
the token endpoint, /revoke and /introspection (docs/janssen-compatibility.md; RFC 6749
section 2.3, RFC 7523, RFC 8705).

mTLS methods are in test_mtls.py. One server and one set of clients per module; every test
makes its own tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.support.pki import PrivateKey, new_key
from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Client, Server

TOKEN = f"{AUTH}/token"
REVOKE = f"{AUTH}/revoke"
INTROSPECT = f"{AUTH}/introspection"
ENDPOINTS = ["token", "revoke", "introspection"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
BASIC_CHALLENGE = 'Basic realm="jans-auth"'

# RFC 6749 section 2.3.1: both are form-urlencoded before Basic encoding. A ':' in the id,
# '+', '%', '&', '=', '/', spaces and non-ASCII all change under that encoding.
SPECIAL_ID = "svc:reports+ops/β 1%&="
SPECIAL_SECRET = "pä ss:w+rd/%41&=?é-0123456789"


# -- a tiny JWKS host for jwks_uri ------------------------------------------------------------
class JwksHost:
    """Serves JSON documents from a dict on 127.0.0.1, in a thread."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.requests.append(self.path)
                document = host.documents.get(self.path)
                body = json.dumps(document).encode() if document is not None else b"{}"
                self.send_response(200 if document is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self) -> JwksHost:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def public_jwk(key: PrivateKey, kid: str, alg: str) -> dict[str, Any]:
    public = key.public_key()
    algorithm = RSAAlgorithm if alg[:2] in ("RS", "PS") else ECAlgorithm
    jwk: dict[str, Any] = algorithm.to_jwk(public, as_dict=True)  # type: ignore[arg-type]
    return {**jwk, "kid": kid, "use": "sig", "alg": alg}


# -- clients and credentials ------------------------------------------------------------------
@dataclass
class Signer:
    """How a JWT-assertion client signs (its key, alg and the kid it puts in the header)."""

    key: Any
    alg: str
    kid: str | None


@dataclass
class Registered:
    srv: Server
    jwks: JwksHost
    http: httpx.Client  # one connection pool for the module (a new client costs ~20 ms)
    basic: Client
    special: Client
    post: Client
    secret_jwt: Client
    key_jwt: Client  # inline jwks: RSA (kid rsa-1) and EC (kid ec-1)
    uri_jwt: Client  # jwks_uri: RSA (kid uri-rsa) and EC (kid uri-ec)
    public: Client
    rsa_key: PrivateKey
    ec_key: PrivateKey
    uri_rsa_key: PrivateKey
    uri_ec_key: PrivateKey
    username: str = "alice"
    password: str = "correct horse battery staple"  # noqa: S105
    signers: dict[str, tuple[Client, Signer]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def reg(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registered]:
    directory = tmp_path_factory.mktemp("client-auth")
    rsa_key, ec_key = new_key("rsa"), new_key("ec")
    uri_rsa_key, uri_ec_key = new_key("rsa"), new_key("ec")
    inline = directory / "jwks.json"
    inline.write_text(json.dumps({"keys": [
        public_jwk(rsa_key, "rsa-1", "RS256"), public_jwk(ec_key, "ec-1", "ES256"),
    ]}))  # fmt: skip
    with JwksHost() as host, server.http() as http:
        host.documents["/uri-client/jwks.json"] = {"keys": [
            public_jwk(uri_rsa_key, "uri-rsa", "RS256"), public_jwk(uri_ec_key, "uri-ec", "ES256"),
        ]}  # fmt: skip
        r = Registered(
            srv=server,
            jwks=host,
            http=http,
            basic=server.create_client(name="basic"),
            special=server.create_client(
                "--client-id", SPECIAL_ID, "--secret", SPECIAL_SECRET, name="special"
            ),
            post=server.create_client(name="post", auth_method="client_secret_post"),
            secret_jwt=server.create_client(name="hs", auth_method="client_secret_jwt"),
            key_jwt=server.create_client(
                "--jwks-file", str(inline), name="pk", auth_method="private_key_jwt"
            ),
            uri_jwt=server.create_client(
                "--jwks-uri",
                host.url("/uri-client/jwks.json"),
                name="pk-uri",
                auth_method="private_key_jwt",
            ),  # fmt: skip
            public=server.create_client(
                name="spa", grant_types=["password", "refresh_token"], auth_method="none"
            ),
            rsa_key=rsa_key,
            ec_key=ec_key,
            uri_rsa_key=uri_rsa_key,
            uri_ec_key=uri_ec_key,
        )
        assert r.special.client_id == SPECIAL_ID and r.special.secret == SPECIAL_SECRET
        assert r.secret_jwt.secret
        server.cli("user", "create", "--username", r.username, "--password", r.password)
        r.signers = {
            "client_secret_jwt": (r.secret_jwt, Signer(r.secret_jwt.secret, "HS256", None)),
            "private_key_jwt-RS256": (r.key_jwt, Signer(rsa_key, "RS256", "rsa-1")),
            "private_key_jwt-ES256": (r.key_jwt, Signer(ec_key, "ES256", "ec-1")),
            "jwks_uri-RS256": (r.uri_jwt, Signer(uri_rsa_key, "RS256", "uri-rsa")),
            "jwks_uri-ES256": (r.uri_jwt, Signer(uri_ec_key, "ES256", "uri-ec")),
            # No kid: the server must pick the key by the algorithm's key type.
            "jwks_uri-ES256-no-kid": (r.uri_jwt, Signer(uri_ec_key, "ES256", None)),
        }
        yield r


def basic_header(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 2.3.1 Basic credentials: form-urlencode each part, then base64."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_assertion(
    client_id: str, signer: Signer, aud: str | list[str], *, jti: str | None = None,
    lifetime: int = 60, iat_offset: int = 0, **claims: Any,
) -> str:  # fmt: skip
    now = int(time.time()) + iat_offset
    payload = {"iss": client_id, "sub": client_id, "aud": aud, "jti": jti or uuid.uuid4().hex,
               "iat": now, "exp": now + lifetime, **claims}  # fmt: skip
    headers = {"kid": signer.kid} if signer.kid else None
    return jwt.encode(payload, signer.key, algorithm=signer.alg, headers=headers)


def unsigned_assertion(client_id: str, aud: str, kid: str | None = None) -> str:
    now = int(time.time())
    header: dict[str, Any] = {"alg": "none", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    payload = {"iss": client_id, "sub": client_id, "aud": aud, "jti": uuid.uuid4().hex,
               "iat": now, "exp": now + 60}  # fmt: skip
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}."


def hmac_jwt(payload: dict[str, Any], key: bytes, kid: str | None) -> str:
    """HS256 by hand (PyJWT refuses keys that look like public keys, rightly)."""
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def assertion_form(assertion: str, client_id: str | None = None) -> dict[str, str]:
    form = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    if client_id is not None:
        form["client_id"] = client_id
    return form


@dataclass
class Creds:
    form: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


METHODS = ["client_secret_basic", "client_secret_basic-special-chars", "client_secret_post",
           "client_secret_jwt", "private_key_jwt-RS256", "private_key_jwt-ES256",
           "jwks_uri-RS256", "jwks_uri-ES256", "jwks_uri-ES256-no-kid"]  # fmt: skip


def credentials(r: Registered, method: str, aud: str | None = None) -> tuple[Client, Creds]:
    """Fresh credentials for `method` (a new assertion, so a new jti, every call)."""
    if method == "client_secret_basic":
        return r.basic, Creds(headers=basic_header(*r.basic.basic))
    if method == "client_secret_basic-special-chars":
        return r.special, Creds(headers=basic_header(*r.special.basic))
    if method == "client_secret_post":
        assert r.post.secret
        return r.post, Creds(form={"client_id": r.post.client_id, "client_secret": r.post.secret})
    client, signer = r.signers[method]
    assertion = make_assertion(client.client_id, signer, aud or r.srv.url + TOKEN)
    return client, Creds(form=assertion_form(assertion))


def post(r: Registered, path: str, creds: Creds, **form: str) -> httpx.Response:
    return r.http.post(path, data={**creds.form, **form}, headers=creds.headers)


def endpoint_call(r: Registered, endpoint: str, creds: Creds, token: str = "x") -> httpx.Response:
    if endpoint == "token":
        return post(r, TOKEN, creds, grant_type="client_credentials")
    if endpoint == "revoke":
        return post(r, REVOKE, creds, token=token)
    return post(r, INTROSPECT, creds, token=token)


def token_for(r: Registered, method: str) -> str:
    _, creds = credentials(r, method)
    response = post(r, TOKEN, creds, grant_type="client_credentials")
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def assert_invalid_client(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    # RFC 6749 section 5.2: a challenge matching the Authorization scheme used, Basic when
    # no credentials were sent; none for credentials in the body or a certificate (a Basic
    # challenge there makes libraries report a challenge, not invalid_client).
    scheme = response.request.headers.get("authorization", "").partition(" ")[0].lower()
    body = response.request.content.decode()
    in_body = "client_secret=" in body or "client_assertion" in body
    expected = {"basic": BASIC_CHALLENGE, "bearer": 'Bearer realm="jans-auth"'}.get(
        scheme, None if in_body else BASIC_CHALLENGE
    )
    assert response.headers.get("WWW-Authenticate") == expected


def admin_introspect(r: Registered, token: str) -> dict[str, Any]:
    response = r.http.post(INTROSPECT, data={"token": token}, auth=(ADMIN_ID, ADMIN_SECRET))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def admin_active(r: Registered, token: str) -> bool:
    return bool(admin_introspect(r, token)["active"])


# -- every method works at every endpoint ------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_token_endpoint_accepts(reg: Registered, method: str) -> None:
    client, creds = credentials(reg, method)
    response = post(reg, TOKEN, creds, grant_type="client_credentials")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    claims = admin_introspect(reg, body["access_token"])
    assert claims["active"] is True
    assert claims["client_id"] == client.client_id


@pytest.mark.parametrize("method", METHODS)
def test_introspection_accepts(reg: Registered, method: str) -> None:
    token = token_for(reg, method)
    client, creds = credentials(reg, method, aud=reg.srv.url + INTROSPECT)
    response = post(reg, INTROSPECT, creds, token=token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["active"] is True
    assert body["client_id"] == client.client_id


@pytest.mark.parametrize("method", METHODS)
def test_revoke_accepts(reg: Registered, method: str) -> None:
    token = token_for(reg, method)
    other = token_for(reg, method)
    _, creds = credentials(reg, method, aud=reg.srv.url + REVOKE)
    response = post(reg, REVOKE, creds, token=token)
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert not admin_active(reg, token)
    assert admin_active(reg, other)  # another grant of the same client is untouched


# -- client_secret_basic / client_secret_post failures ----------------------------------------
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_basic_wrong_secret(reg: Registered, endpoint: str) -> None:
    creds = Creds(headers=basic_header(reg.basic.client_id, "wrong-secret-0123456789"))
    assert_invalid_client(endpoint_call(reg, endpoint, creds))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_basic_unknown_client(reg: Registered, endpoint: str) -> None:
    creds = Creds(headers=basic_header("no-such-client", "whatever-0123456789"))
    assert_invalid_client(endpoint_call(reg, endpoint, creds))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_basic_special_characters_must_be_form_urlencoded(reg: Registered, endpoint: str) -> None:
    # Sent raw, the ':' in the id splits the pair in the wrong place and '+' becomes ' '.
    raw = f"{SPECIAL_ID}:{SPECIAL_SECRET}".encode()
    creds = Creds(headers={"Authorization": "Basic " + base64.b64encode(raw).decode()})
    assert_invalid_client(endpoint_call(reg, endpoint, creds))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_malformed_basic(reg: Registered, endpoint: str) -> None:
    for value in ("Basic !!!not-base64!!!", "Basic " + base64.b64encode(b"no-colon").decode()):
        assert_invalid_client(endpoint_call(reg, endpoint, Creds(headers={"Authorization": value})))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_post_wrong_secret(reg: Registered, endpoint: str) -> None:
    creds = Creds(form={"client_id": reg.post.client_id, "client_secret": "wrong-0123456789"})
    assert_invalid_client(endpoint_call(reg, endpoint, creds))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_only_the_registered_method(reg: Registered, endpoint: str) -> None:
    basic_id, basic_secret = reg.basic.basic
    post_id, post_secret = reg.post.basic
    # A client registered for client_secret_basic sending client_secret_post ...
    basic_as_post = Creds(form={"client_id": basic_id, "client_secret": basic_secret})
    assert_invalid_client(endpoint_call(reg, endpoint, basic_as_post))
    # ... and the other way round.
    post_as_basic = Creds(headers=basic_header(post_id, post_secret))
    assert_invalid_client(endpoint_call(reg, endpoint, post_as_basic))
    # A client_secret_jwt client may not use its secret with Basic.
    assert reg.secret_jwt.secret
    jwt_as_basic = Creds(headers=basic_header(reg.secret_jwt.client_id, reg.secret_jwt.secret))
    assert_invalid_client(endpoint_call(reg, endpoint, jwt_as_basic))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_two_methods_at_once_is_refused(reg: Registered, endpoint: str) -> None:
    creds = Creds(
        form={"client_id": reg.post.client_id, "client_secret": reg.post.secret or ""},
        headers=basic_header(*reg.basic.basic),
    )
    response = endpoint_call(reg, endpoint, creds)
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("invalid_request", "invalid_client")


# -- JWT assertions: every way an assertion can be bad -----------------------------------------
JWT_METHODS = ["client_secret_jwt", "private_key_jwt-RS256", "private_key_jwt-ES256",
               "jwks_uri-ES256"]  # fmt: skip


def aud_for(r: Registered, endpoint: str) -> str:
    return r.srv.url + {"token": TOKEN, "revoke": REVOKE, "introspection": INTROSPECT}[endpoint]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("method", JWT_METHODS)
def test_assertion_audiences(reg: Registered, method: str, endpoint: str) -> None:
    """aud may be the token endpoint, the issuer, or the endpoint being called."""
    client, signer = reg.signers[method]
    for aud in (reg.srv.url + TOKEN, reg.srv.url, aud_for(reg, endpoint),
                [reg.srv.url + TOKEN, "https://elsewhere.example"]):  # fmt: skip
        creds = Creds(form=assertion_form(make_assertion(client.client_id, signer, aud)))
        response = endpoint_call(reg, endpoint, creds)
        assert response.status_code == 200, (aud, response.text)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("method", JWT_METHODS)
def test_assertion_replay(reg: Registered, method: str, endpoint: str) -> None:
    client, signer = reg.signers[method]
    assertion = make_assertion(client.client_id, signer, reg.srv.url + TOKEN)
    first = endpoint_call(reg, endpoint, Creds(form=assertion_form(assertion)))
    assert first.status_code == 200, first.text
    assert_invalid_client(endpoint_call(reg, endpoint, Creds(form=assertion_form(assertion))))
    # The same jti in a new, otherwise valid assertion is a replay too.
    jti = jwt.decode(assertion, options={"verify_signature": False})["jti"]
    again = make_assertion(client.client_id, signer, reg.srv.url + TOKEN, jti=jti)
    assert_invalid_client(endpoint_call(reg, endpoint, Creds(form=assertion_form(again))))


def bad_assertions(r: Registered, method: str) -> dict[str, str]:
    client, signer = r.signers[method]
    cid, token_url = client.client_id, r.srv.url + TOKEN
    foreign = Signer(
        "another-secret-0123456789abcdefghij" if signer.alg == "HS256" else new_key(
            "rsa" if signer.alg == "RS256" else "ec"),
        signer.alg, signer.kid,
    )  # fmt: skip
    cases = {
        "expired": make_assertion(cid, signer, token_url, iat_offset=-600, lifetime=60),
        "wrong aud": make_assertion(cid, signer, "https://other-server.example/token"),
        "alg none": unsigned_assertion(cid, token_url, signer.kid),
        "wrong key": make_assertion(cid, foreign, token_url),
        "iss is not sub": make_assertion(cid, signer, token_url, iss="someone-else"),
        "no jti": jwt.encode(
            {"iss": cid, "sub": cid, "aud": token_url, "exp": int(time.time()) + 60},
            signer.key,
            algorithm=signer.alg,
            headers={"kid": signer.kid} if signer.kid else None,
        ),  # fmt: skip
        "not a jwt": "definitely.not.a-jwt",
    }
    if signer.alg != "HS256":
        # Algorithm confusion: HMAC keyed with the client's public key (PEM), which an
        # attacker knows, sent for a client with asymmetric keys.
        public_pem = signer.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        cases["hs256 with the public key"] = hmac_jwt(
            {"iss": cid, "sub": cid, "aud": token_url, "jti": uuid.uuid4().hex,
             "exp": int(time.time()) + 60},
            public_pem, signer.kid,
        )  # fmt: skip
        cases["unknown kid"] = make_assertion(
            cid, Signer(signer.key, signer.alg, "no-such-kid"), token_url
        )
    return cases


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("method", JWT_METHODS)
def test_bad_assertions(reg: Registered, method: str, endpoint: str) -> None:
    for case, assertion in bad_assertions(reg, method).items():
        response = endpoint_call(reg, endpoint, Creds(form=assertion_form(assertion)))
        assert response.status_code == 401, (case, response.text)
        assert response.json()["error"] == "invalid_client", case


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_assertion_type_and_client_id_checked(reg: Registered, endpoint: str) -> None:
    client, signer = reg.signers["private_key_jwt-RS256"]
    good = make_assertion(client.client_id, signer, reg.srv.url + TOKEN)
    wrong_type = {"client_assertion_type": "urn:example:other", "client_assertion": good}
    assert_invalid_client(endpoint_call(reg, endpoint, Creds(form=wrong_type)))
    other_id = make_assertion(client.client_id, signer, reg.srv.url + TOKEN)
    mismatch = assertion_form(other_id, client_id=reg.basic.client_id)
    assert_invalid_client(endpoint_call(reg, endpoint, Creds(form=mismatch)))
    # A matching client_id alongside the assertion is fine (RFC 7523 section 3).
    matching = make_assertion(client.client_id, signer, reg.srv.url + TOKEN)
    ok = endpoint_call(reg, endpoint, Creds(form=assertion_form(matching, client.client_id)))
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_assertion_for_a_secret_client_is_refused(reg: Registered, endpoint: str) -> None:
    """A client_secret_basic client signing an HS256 assertion with its secret."""
    cid, secret = reg.basic.basic
    assertion = make_assertion(cid, Signer(secret, "HS256", None), reg.srv.url + TOKEN)
    assert_invalid_client(endpoint_call(reg, endpoint, Creds(form=assertion_form(assertion))))


def test_private_key_jwt_with_a_key_of_another_client(reg: Registered) -> None:
    # The inline client's RSA key, claiming to be the jwks_uri client.
    signer = Signer(reg.rsa_key, "RS256", "uri-rsa")
    assertion = make_assertion(reg.uri_jwt.client_id, signer, reg.srv.url + TOKEN)
    assert_invalid_client(endpoint_call(reg, "token", Creds(form=assertion_form(assertion))))


def test_jwks_uri_is_fetched_from_the_client(reg: Registered) -> None:
    token_for(reg, "jwks_uri-RS256")
    assert "/uri-client/jwks.json" in reg.jwks.requests


# -- none: public clients ----------------------------------------------------------------------
def public_tokens(r: Registered) -> dict[str, Any]:
    response = r.http.post(TOKEN, data={
        "grant_type": "password", "client_id": r.public.client_id,
        "username": r.username, "password": r.password,
    })  # fmt: skip
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["refresh_token"]
    return body


def test_public_client_password_and_refresh(reg: Registered) -> None:
    tokens = public_tokens(reg)
    response = reg.http.post(TOKEN, data={
        "grant_type": "refresh_token", "client_id": reg.public.client_id,
        "refresh_token": tokens["refresh_token"],
    })  # fmt: skip
    assert response.status_code == 200, response.text
    claims = admin_introspect(reg, response.json()["access_token"])
    assert claims["active"] and claims["client_id"] == reg.public.client_id
    assert claims["username"] == reg.username


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_public_client_revokes_with_only_client_id(reg: Registered, which: str) -> None:
    tokens = public_tokens(reg)
    form = {"token": tokens[which], "client_id": reg.public.client_id}
    response = reg.http.post(REVOKE, data=form)
    assert response.status_code == 200, response.text
    # The grant cascade: both tokens are gone whichever one was revoked.
    assert not admin_active(reg, tokens["access_token"])
    assert not admin_active(reg, tokens["refresh_token"])


def test_public_client_cannot_revoke_other_clients_tokens(reg: Registered) -> None:
    victim = token_for(reg, "client_secret_basic")
    response = reg.http.post(REVOKE, data={"token": victim, "client_id": reg.public.client_id})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert admin_active(reg, victim)


def test_client_id_of_a_confidential_client_is_401(reg: Registered) -> None:
    """RFC 6749 sections 2.3, 5.2 (Janssen: 200 and nothing happens, a silent failure)."""
    token = token_for(reg, "client_secret_basic")
    for client_id in (reg.basic.client_id, "no-such-client"):
        response = reg.http.post(REVOKE, data={"token": token, "client_id": client_id})
        assert_invalid_client(response)
    assert admin_active(reg, token)


def test_public_client_without_authentication_elsewhere(reg: Registered) -> None:
    # The token endpoint needs an authenticated client: a confidential client's bare id fails.
    form = {"grant_type": "client_credentials", "client_id": reg.basic.client_id}
    assert_invalid_client(reg.http.post(TOKEN, data=form))
    # A public client cannot use a secret it does not have.
    with_secret = reg.http.post(TOKEN, data={
        "grant_type": "password", "client_id": reg.public.client_id,
        "client_secret": "made-up-secret-0123456789",
        "username": reg.username, "password": reg.password,
    })  # fmt: skip
    assert_invalid_client(with_secret)
    # Introspection is for confidential callers (Janssen: no Authorization -> 400; here 401
    # invalid_client, as at /revoke).
    token = public_tokens(reg)["access_token"]
    form = {"token": token, "client_id": reg.public.client_id}
    introspect = reg.http.post(INTROSPECT, data=form)
    assert_invalid_client(introspect)
    assert introspect.headers["WWW-Authenticate"] == BASIC_CHALLENGE  # no credentials sent


# -- Bearer access token at /revoke (Janssen) --------------------------------------------------
def bearer(token: str) -> Creds:
    return Creds(headers={"Authorization": f"Bearer {token}"})


def test_bearer_revokes_own_tokens(reg: Registered) -> None:
    first, second = token_for(reg, "client_secret_basic"), token_for(reg, "client_secret_basic")
    response = post(reg, REVOKE, bearer(first), token=second)
    assert response.status_code == 200, response.text
    assert not admin_active(reg, second)
    assert admin_active(reg, first)
    # A client revokes the very token it authenticates with.
    response = post(reg, REVOKE, bearer(first), token=first)
    assert response.status_code == 200, response.text
    assert not admin_active(reg, first)
    # Now inactive, it no longer authenticates anyone.
    assert_invalid_client(post(reg, REVOKE, bearer(first), token=first))


def test_bearer_must_be_an_active_access_token(reg: Registered) -> None:
    assert_invalid_client(post(reg, REVOKE, bearer("not-a-real-token"), token="x"))
    assert_invalid_client(post(reg, REVOKE, Creds(headers={"Authorization": "Bearer"}), token="x"))
    refresh = public_tokens(reg)["refresh_token"]
    assert_invalid_client(post(reg, REVOKE, bearer(refresh), token=refresh))
    assert admin_active(reg, refresh)


def test_bearer_cannot_revoke_another_clients_token(reg: Registered) -> None:
    mine, theirs = token_for(reg, "client_secret_basic"), token_for(reg, "client_secret_post")
    response = post(reg, REVOKE, bearer(mine), token=theirs)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert admin_active(reg, theirs)


def test_bearer_with_another_method_is_refused(reg: Registered) -> None:
    token = token_for(reg, "client_secret_post")
    creds = bearer(token)
    creds.form = {"client_id": reg.post.client_id, "client_secret": reg.post.secret or ""}
    response = post(reg, REVOKE, creds, token=token)
    assert response.status_code in (400, 401)
    assert admin_active(reg, token)


def test_bearer_is_not_client_authentication_at_the_token_endpoint(reg: Registered) -> None:
    token = token_for(reg, "client_secret_basic")
    response = post(reg, TOKEN, bearer(token), grant_type="client_credentials")
    assert_invalid_client(response)


def test_bearer_at_introspection(reg: Registered) -> None:
    caller, subject = token_for(reg, "client_secret_basic"), token_for(reg, "client_secret_post")
    # By default a Bearer caller needs the introspection scope (Janssen's default: any).
    response = post(reg, INTROSPECT, bearer(caller), token=subject)
    assert response.status_code == 401, response.text
    inspector = reg.srv.create_client(name="inspector", scopes=["introspection"])
    caller = str(reg.srv.fetch_token(inspector)["access_token"])
    response = post(reg, INTROSPECT, bearer(caller), token=subject)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is True
    response = post(reg, INTROSPECT, bearer("inactive-token"), token=subject)
    assert response.status_code == 401, response.text


def test_admin_credentials_still_work(reg: Registered) -> None:
    """The harness' own helper agrees with this module's shared-connection one."""
    token = token_for(reg, "client_secret_basic")
    assert reg.srv.active(token)
