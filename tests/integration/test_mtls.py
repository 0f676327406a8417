"""Mutual-TLS client authentication (RFC 8705) through real servers, over real TLS.

Three servers, started together:
- `tls`: `--tls-cert/--tls-key/--tls-client-ca`; clients talk TLS to it, presenting
  certificates from tests/support/pki.py (a test CA, a rogue CA, self-signed certificates).
- `proxy`: plain HTTP behind a "TLS-terminating proxy" on 127.0.0.1 (`--client-cert-header
  X-SSL-Client-Cert --trusted-proxy 127.0.0.1/32`): the URL-encoded PEM in the header is
  the client certificate, and nothing at the TLS layer has vetted it.
- `untrusted`: the same, but trusting only 10.0.0.0/8, so the header must be ignored.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.support.pki import CertificateAuthority, Issued, client_context, self_signed_client
from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Client, Server

TOKEN = f"{AUTH}/token"
REVOKE = f"{AUTH}/revoke"
INTROSPECT = f"{AUTH}/introspection"
ENDPOINTS = ["token", "revoke", "introspection"]
HEADER = "X-SSL-Client-Cert"
BASIC_CHALLENGE = 'Basic realm="jans-auth"'
# The server reloads clients every 0.5 s; a new self-signed certificate must be trusted
# at the TLS layer within a few polls.
PROPAGATION_DEADLINE = 10.0


# -- the PKI -----------------------------------------------------------------------------------
@dataclass
class Pki:
    directory: Path
    ca: CertificateAuthority
    rogue_ca: CertificateAuthority
    server: Issued
    good: Issued  # CN=mtls-client-1 (EC, no subjectAltName, like many enterprise certs)
    rsa: Issued  # CN=mtls-rsa (RSA key)
    with_san: Issued  # CN=mtls-san, with a URI subjectAltName
    other_dn: Issued  # CN=mtls-client-2
    bound: Issued  # CN=mtls-bound
    comma_org: Issued  # O="Example, Inc."
    comma_evil: Issued  # O="Example, Evil": the same DN if commas were split naively
    rogue: Issued  # the same DN as `good`, from another CA
    expired: Issued  # the same DN as `good`, expired
    self_signed: Issued  # registered by the `ss` client (before the server starts)
    self_signed_other: Issued  # registered by the `ss_other` client
    self_signed_late: Issued  # registered while the server runs
    self_signed_unregistered: Issued


def make_pki(directory: Path) -> Pki:
    ca = CertificateAuthority(directory / "ca")
    rogue_ca = CertificateAuthority(directory / "rogue", name="Rogue Root CA", org="Rogue")
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    ss_dir = directory / "self-signed"
    return Pki(
        directory=directory,
        ca=ca,
        rogue_ca=rogue_ca,
        server=ca.server(),
        good=ca.client("good", "mtls-client-1"),
        rsa=ca.client("rsa", "mtls-rsa", key_kind="rsa"),
        with_san=ca.client(
            "san",
            "mtls-san",
            san=[
                x509.UniformResourceIdentifier("spiffe://example.org/mtls-san"),
            ],
        ),  # fmt: skip
        other_dn=ca.client("other-dn", "mtls-client-2"),
        bound=ca.client("bound", "mtls-bound"),
        comma_org=ca.client("comma", "mtls-comma", org="Example, Inc."),
        comma_evil=ca.client("comma-evil", "mtls-comma", org="Example, Evil"),
        rogue=rogue_ca.client("rogue", "mtls-client-1"),
        expired=ca.client("expired", "mtls-client-1", not_before=past, days=10),
        self_signed=self_signed_client(ss_dir, "ss", "self-signed-1"),
        self_signed_other=self_signed_client(ss_dir, "ss-other", "self-signed-2", "rsa"),
        self_signed_late=self_signed_client(ss_dir, "ss-late", "self-signed-late"),
        self_signed_unregistered=self_signed_client(ss_dir, "ss-unreg", "self-signed-x"),
    )


def jwks_file(directory: Path, name: str, *certs: Issued) -> str:
    path = directory / f"{name}.jwks.json"
    path.write_text(json.dumps({"keys": [c.jwk() for c in certs]}))
    return str(path)


def tls_client_args(dn: str, *extra: str) -> list[str]:
    return ["--auth-method", "tls_client_auth", "--tls-subject-dn", dn, *extra]


# -- servers and clients -----------------------------------------------------------------------
@dataclass
class Env:
    pki: Pki
    tls: Server
    proxy: Server
    untrusted: Server
    clients: dict[str, Client] = field(default_factory=dict)  # on the tls server
    proxy_clients: dict[str, Client] = field(default_factory=dict)
    untrusted_clients: dict[str, Client] = field(default_factory=dict)
    _http: dict[str, httpx.Client] = field(default_factory=dict)

    def http(self, cert: Issued | None) -> httpx.Client:
        """A TLS client for the `tls` server presenting `cert` (one pool per certificate)."""
        key = cert.stem if cert else "-"
        if key not in self._http:
            context = client_context(self.pki.ca.cert_path, cert)
            self._http[key] = httpx.Client(base_url=self.tls.url, verify=context, timeout=10.0)
        return self._http[key]

    def plain(self, srv: Server) -> httpx.Client:
        key = f"plain-{srv.port}"
        if key not in self._http:
            self._http[key] = srv.http()
        return self._http[key]

    def close(self) -> None:
        for client in self._http.values():
            client.close()


ClientSpecs = dict[str, list[str]]  # client name -> `tokenrevoke client create` options


def tls_server(pki: Pki, directory: Path) -> tuple[Server, ClientSpecs, ClientSpecs]:
    """The TLS server, the clients to create before it starts (self-signed ones, trusted
    from the start) and those to create once it runs."""
    srv = Server(
        directory / "tls-data",
        extra_args=["--tls-cert", str(pki.server.cert_path), "--tls-key", str(pki.server.key_path),
                    "--tls-client-ca", str(pki.ca.cert_path)],
        scheme="https",
        verify=client_context(pki.ca.cert_path),
    )  # fmt: skip
    before = {
        "ss": ["--auth-method", "self_signed_tls_client_auth",
               "--jwks-file", jwks_file(directory, "ss", pki.self_signed)],
        "ss_other": ["--auth-method", "self_signed_tls_client_auth", "--tls-bound-tokens",
                     "--jwks-file", jwks_file(directory, "ss-other", pki.self_signed_other)],
    }  # fmt: skip
    after = {
        "good": tls_client_args(pki.good.subject_dn),
        # Janssen compares DNs as Bouncy Castle does: RDN order, case and spacing do not
        # matter.
        "good_reordered": tls_client_args(
            "c=US, o=Example Corp, OU=OAuth  Clients, CN=MTLS-client-1"
        ),
        "rsa": tls_client_args(pki.rsa.subject_dn),
        "san": tls_client_args(pki.with_san.subject_dn),
        "comma": tls_client_args(pki.comma_org.subject_dn),
        "bound": tls_client_args(pki.bound.subject_dn, "--tls-bound-tokens"),
        # A tls_client_auth client whose DN is that of a self-signed certificate the TLS
        # layer trusts (because `ss` registered it): it must still chain to the CA.
        "ss_dn": tls_client_args(pki.self_signed.subject_dn),
        "secret": [],
    }
    return srv, before, after


def proxy_server(pki: Pki, directory: Path, trusted: str) -> tuple[Server, ClientSpecs]:
    srv = Server(
        directory / f"proxy-{trusted.replace('/', '_')}",
        extra_args=["--client-cert-header", HEADER, "--trusted-proxy", trusted,
                    "--tls-client-ca", str(pki.ca.cert_path)],
    )  # fmt: skip
    clients = {
        "good": tls_client_args(pki.good.subject_dn),
        "bound": tls_client_args(pki.bound.subject_dn, "--tls-bound-tokens"),
        "ss_dn": tls_client_args(pki.self_signed.subject_dn),
        "ss": ["--auth-method", "self_signed_tls_client_auth",
               "--jwks-file", jwks_file(directory, "ss", pki.self_signed)],
    }  # fmt: skip
    return srv, clients


def submit_clients(pool: ThreadPoolExecutor, srv: Server,
                   specs: ClientSpecs) -> dict[str, Future[Client]]:  # fmt: skip
    return {name: pool.submit(srv.create_client, *args) for name, args in specs.items()}


def results(futures: dict[str, Future[Client]]) -> dict[str, Client]:
    return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """Three servers and their clients, set up concurrently (each CLI call and each server
    is a separate process)."""
    directory = tmp_path_factory.mktemp("mtls")
    pki = make_pki(directory)
    tls, before, after = tls_server(pki, directory)
    proxy, proxy_specs = proxy_server(pki, directory, "127.0.0.1/32")
    untrusted, untrusted_specs = proxy_server(pki, directory, "10.0.0.0/8")
    tls.data_dir.mkdir(parents=True)
    e: Env | None = None
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            proxies = [pool.submit(proxy.start), pool.submit(untrusted.start)]
            clients = results(submit_clients(pool, tls, before))
            tls_started = pool.submit(tls.start)
            for started in proxies:
                started.result()
            proxy_clients = submit_clients(pool, proxy, proxy_specs)
            untrusted_clients = submit_clients(pool, untrusted, untrusted_specs)
            tls_started.result()
            clients.update(results(submit_clients(pool, tls, after)))
            e = Env(pki, tls, proxy, untrusted, clients, results(proxy_clients),
                    results(untrusted_clients))  # fmt: skip
        yield e
    finally:
        if e is not None:
            e.close()
        for srv in (tls, proxy, untrusted):
            srv.stop()


# -- helpers -----------------------------------------------------------------------------------
def form_for(endpoint: str, client: Client, token: str = "x") -> tuple[str, dict[str, str]]:
    if endpoint == "token":
        return TOKEN, {"grant_type": "client_credentials", "client_id": client.client_id}
    path = REVOKE if endpoint == "revoke" else INTROSPECT
    return path, {"token": token, "client_id": client.client_id}


def tls_call(e: Env, cert: Issued | None, endpoint: str, client: Client,
             token: str = "x") -> httpx.Response:  # fmt: skip
    path, form = form_for(endpoint, client, token)
    return e.http(cert).post(path, data=form)


def header_value(cert: Issued) -> str:
    """What nginx puts in `$ssl_client_escaped_cert`: the PEM, URL-encoded."""
    return quote(cert.pem, safe="")


def proxy_call(e: Env, srv: Server, header: str | None, endpoint: str, client: Client,
               token: str = "x") -> httpx.Response:  # fmt: skip
    path, form = form_for(endpoint, client, token)
    headers = {HEADER: header} if header is not None else {}
    return e.plain(srv).post(path, data=form, headers=headers)


def tls_token(e: Env, cert: Issued, client: Client) -> str:
    response = tls_call(e, cert, "token", client)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def introspect(e: Env, srv: Server, token: str) -> dict[str, Any]:
    http = e.http(None) if srv is e.tls else e.plain(srv)
    response = http.post(INTROSPECT, data={"token": token}, auth=(ADMIN_ID, ADMIN_SECRET))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_invalid_client(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    # RFC 6749 section 5.2: Basic only when Basic was used (or nothing at all was sent).
    used_basic = response.request.headers.get("authorization", "").lower().startswith("basic")
    assert response.headers.get("WWW-Authenticate") in (
        (BASIC_CHALLENGE,) if used_basic else (BASIC_CHALLENGE, None)
    )


def assert_refused(call: Callable[[], httpx.Response]) -> None:
    """Refused at the TLS handshake (the server does not trust the certificate) or, if the
    handshake went through, by client authentication."""
    try:
        response = call()
    except httpx.TransportError:
        return
    assert_invalid_client(response)


def x5t_s256(cert: Issued) -> str:
    """RFC 8705 section 3.1, computed here independently of the PKI helper."""
    der = cert.cert.public_bytes(serialization.Encoding.DER)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


# -- tls_client_auth over TLS ------------------------------------------------------------------
ACCEPTED = [("good", "good"), ("good_reordered", "good"), ("rsa", "rsa"), ("san", "with_san"),
            ("comma", "comma_org")]  # fmt: skip


@pytest.mark.parametrize(("client_name", "cert_name"), ACCEPTED)
def test_tls_client_auth_at_every_endpoint(env: Env, client_name: str, cert_name: str) -> None:
    client, cert = env.clients[client_name], getattr(env.pki, cert_name)
    token = tls_token(env, cert, client)
    claims = introspect(env, env.tls, token)
    assert claims["active"] and claims["client_id"] == client.client_id
    assert "cnf" not in claims  # not a bound client
    response = tls_call(env, cert, "introspection", client, token)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is True
    response = tls_call(env, cert, "revoke", client, token)
    assert response.status_code == 200, response.text
    assert not introspect(env, env.tls, token)["active"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_tls_client_auth_subject_dn_mismatch(env: Env, endpoint: str) -> None:
    assert_invalid_client(tls_call(env, env.pki.other_dn, endpoint, env.clients["good"]))
    # O="Example, Evil" must not match a client registered for O="Example\, Inc.".
    assert_invalid_client(tls_call(env, env.pki.comma_evil, endpoint, env.clients["comma"]))


@pytest.mark.parametrize("endpoint", ["token", "revoke"])
def test_tls_client_auth_without_a_certificate(env: Env, endpoint: str) -> None:
    assert_invalid_client(tls_call(env, None, endpoint, env.clients["good"]))


def test_introspection_without_any_credentials(env: Env) -> None:
    """Introspection without credentials (here: a bare client_id, no certificate) is 401
    invalid_client, as at /revoke (Janssen: 400 invalid_request)."""
    response = tls_call(env, None, "introspection", env.clients["good"])
    assert_invalid_client(response)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_certificate_from_another_ca(env: Env, endpoint: str) -> None:
    assert_refused(lambda: tls_call(env, env.pki.rogue, endpoint, env.clients["good"]))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_trusted_self_signed_certificate_is_not_a_ca_issued_one(env: Env, endpoint: str) -> None:
    """The TLS layer trusts `ss`'s self-signed certificate, and its DN is what `ss_dn`
    registered; tls_client_auth must still refuse it: it does not chain to the CA."""
    assert_invalid_client(tls_call(env, env.pki.self_signed, endpoint, env.clients["ss_dn"]))


def test_bound_token_carries_the_certificate_thumbprint(env: Env) -> None:
    cert = env.pki.bound
    token = tls_token(env, cert, env.clients["bound"])
    claims = introspect(env, env.tls, token)
    assert claims["active"] is True
    assert claims["cnf"] == {"x5t#S256": x5t_s256(cert)}
    assert claims["cnf"]["x5t#S256"] == cert.thumbprint


def test_secret_clients_are_unaffected_by_a_client_certificate(env: Env) -> None:
    secret = env.clients["secret"]
    response = env.http(env.pki.good).post(
        TOKEN, data={"grant_type": "client_credentials"}, auth=secret.basic
    )
    assert response.status_code == 200, response.text
    assert "cnf" not in introspect(env, env.tls, response.json()["access_token"])


# -- self_signed_tls_client_auth over TLS ------------------------------------------------------
def test_self_signed_at_every_endpoint(env: Env) -> None:
    client, cert = env.clients["ss"], env.pki.self_signed
    token = tls_token(env, cert, client)
    assert introspect(env, env.tls, token)["client_id"] == client.client_id
    response = tls_call(env, cert, "introspection", client, token)
    assert response.status_code == 200 and response.json()["active"] is True
    response = tls_call(env, cert, "revoke", client, token)
    assert response.status_code == 200, response.text
    assert not introspect(env, env.tls, token)["active"]


def test_self_signed_bound_token(env: Env) -> None:
    cert = env.pki.self_signed_other
    token = tls_token(env, cert, env.clients["ss_other"])
    assert introspect(env, env.tls, token)["cnf"] == {"x5t#S256": x5t_s256(cert)}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_self_signed_wrong_certificate(env: Env, endpoint: str) -> None:
    client = env.clients["ss"]
    # Trusted at the TLS layer (another client registered it), but not this client's.
    assert_invalid_client(tls_call(env, env.pki.self_signed_other, endpoint, client))
    # A perfectly good CA-issued certificate is not the registered one either.
    assert_invalid_client(tls_call(env, env.pki.good, endpoint, client))
    # A self-signed certificate nobody registered: refused at the handshake (or 401).
    assert_refused(lambda: tls_call(env, env.pki.self_signed_unregistered, endpoint, client))
    if endpoint != "introspection":
        assert_invalid_client(tls_call(env, None, endpoint, client))


def test_self_signed_client_created_while_running(env: Env) -> None:
    cert = env.pki.self_signed_late
    client = env.tls.create_client(
        "--jwks-file", jwks_file(env.pki.directory, "ss-late", cert),
        auth_method="self_signed_tls_client_auth",
    )  # fmt: skip
    context = client_context(env.pki.ca.cert_path, cert)
    form = {"grant_type": "client_credentials", "client_id": client.client_id}
    deadline = time.monotonic() + PROPAGATION_DEADLINE
    outcomes: list[str] = []
    while True:
        try:
            # A fresh connection each time: the handshake is what changes.
            with httpx.Client(base_url=env.tls.url, timeout=5.0, verify=context) as http:
                response = http.post(TOKEN, data=form)
            if response.status_code == 200:
                break
            outcomes.append(str(response.status_code))
        except httpx.TransportError as exc:
            outcomes.append(type(exc).__name__)
        assert time.monotonic() < deadline, f"never accepted: {outcomes}"
        time.sleep(0.1)
    token = str(response.json()["access_token"])
    assert introspect(env, env.tls, token)["client_id"] == client.client_id
    response = tls_call(env, cert, "revoke", client, token)
    assert response.status_code == 200, response.text
    assert not introspect(env, env.tls, token)["active"]


# -- behind a trusted TLS-terminating proxy ----------------------------------------------------
def test_proxy_header_authenticates_tls_client_auth(env: Env) -> None:
    client, header = env.proxy_clients["good"], header_value(env.pki.good)
    response = proxy_call(env, env.proxy, header, "token", client)
    assert response.status_code == 200, response.text
    token = str(response.json()["access_token"])
    assert introspect(env, env.proxy, token)["client_id"] == client.client_id
    response = proxy_call(env, env.proxy, header, "introspection", client, token)
    assert response.status_code == 200 and response.json()["active"] is True
    response = proxy_call(env, env.proxy, header, "revoke", client, token)
    assert response.status_code == 200, response.text
    assert not introspect(env, env.proxy, token)["active"]


def test_proxy_header_formats(env: Env) -> None:
    """nginx's escaped PEM is the documented form; a PEM with its newlines turned into spaces
    and bare base64 DER (as some proxies send them) work too."""
    client, cert = env.proxy_clients["good"], env.pki.good
    spaced = cert.pem.strip().replace("\n", " ")
    bare = base64.b64encode(cert.der).decode()
    for header in (header_value(cert), spaced, bare, quote(bare, safe="")):
        response = proxy_call(env, env.proxy, header, "token", client)
        assert response.status_code == 200, (header[:40], response.text)


def test_proxy_bound_token(env: Env) -> None:
    cert = env.pki.bound
    response = proxy_call(env, env.proxy, header_value(cert), "token", env.proxy_clients["bound"])
    assert response.status_code == 200, response.text
    claims = introspect(env, env.proxy, response.json()["access_token"])
    assert claims["cnf"] == {"x5t#S256": x5t_s256(cert)}


def test_proxy_self_signed(env: Env) -> None:
    client = env.proxy_clients["ss"]
    ok = proxy_call(env, env.proxy, header_value(env.pki.self_signed), "token", client)
    assert ok.status_code == 200, ok.text
    wrong = proxy_call(env, env.proxy, header_value(env.pki.self_signed_other), "token", client)
    assert_invalid_client(wrong)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_proxy_header_certificate_is_verified(env: Env, endpoint: str) -> None:
    """Nothing at the TLS layer vetted a header certificate: the chain, the validity period
    and the DN are all checked by the server itself."""
    client = env.proxy_clients["good"]
    pki = env.pki
    cases = {
        "other DN": header_value(pki.other_dn),
        "another CA, same DN": header_value(pki.rogue),
        "expired, same DN": header_value(pki.expired),
        "not a certificate": quote(pki.good.pem.replace("M", "A", 5), safe=""),
    }
    for case, header in cases.items():
        assert_invalid_client(proxy_call(env, env.proxy, header, endpoint, client))
    # Unreadable values count as no certificate at all: 401.
    no_credentials = 401
    empty_pem = quote("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----", safe="")
    for header in ("not-base64!", empty_pem):
        response = proxy_call(env, env.proxy, header, endpoint, client)
        assert response.status_code == no_credentials, (header, response.text)
    # A self-signed certificate with exactly the registered DN does not chain to the CA.
    ss_dn = proxy_call(env, env.proxy, header_value(pki.self_signed), endpoint,
                       env.proxy_clients["ss_dn"])  # fmt: skip
    assert_invalid_client(ss_dn)
    # And no header at all.
    no_header = proxy_call(env, env.proxy, None, endpoint, client)
    assert no_header.status_code == 401, no_header.text


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("valid_first", [True, False])
def test_a_repeated_certificate_header_is_refused(
    env: Env, endpoint: str, valid_first: bool
) -> None:
    """Two certificate headers from the trusted proxy are refused whichever comes first
    (S16): the proxy may have set one and passed on the client's own. Nothing is issued
    and the token named stays active."""
    client = env.proxy_clients["good"]
    good = header_value(env.pki.good)
    issued = proxy_call(env, env.proxy, good, "token", client)
    assert issued.status_code == 200, issued.text
    token = str(issued.json()["access_token"])
    headers = [(HEADER, good), (HEADER, quote(env.pki.other_dn.pem, safe=""))]
    if not valid_first:
        headers.reverse()
    path, form = form_for(endpoint, client, token)
    response = env.plain(env.proxy).post(path, data=form, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert "more than once" in response.json()["error_description"]
    assert introspect(env, env.proxy, token)["active"] is True


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_header_from_an_untrusted_peer_is_ignored(env: Env, endpoint: str) -> None:
    """127.0.0.1 is not in 10.0.0.0/8: the header is not a credential at all (401)."""
    for name, cert in (("good", env.pki.good), ("ss", env.pki.self_signed)):
        client = env.untrusted_clients[name]
        response = proxy_call(env, env.untrusted, header_value(cert), endpoint, client)
        assert_invalid_client(response)
