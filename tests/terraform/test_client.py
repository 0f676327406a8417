"""The provider's HTTP client against a real server, without Terraform: token handling (one
scope per operation, cached per scope, refreshed on 401), retries, and each failure's
message. Also: the provider imports nothing from the server's package."""

from __future__ import annotations

import ast
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest

from terraform_provider_jans.client import (
    SCOPE_PROPERTIES_READ,
    SCOPE_TOKEN_DELETE,
    SCOPE_TOKEN_READ,
    JansClient,
    JansError,
    Settings,
    token_code_hash,
)
from terraform_provider_jans.provider import ConfigurationError, JansProvider, settings_from
from terraform_provider_jans.tfbridge import new_diagnostics
from tests.support.pki import CertificateAuthority
from tests.support.server import Server, free_port
from tests.support.wire import sha256_hex
from tests.terraform.support import PROVIDER_SCOPES, Admin, ApiClient, RecordingProxy

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "terraform_provider_jans"
UNKNOWN_CODE = "0" * 64


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(url: str, creds: ApiClient, sleeps: Sleeps | None = None,
                **settings: object) -> JansClient:  # fmt: skip
    return JansClient(
        Settings(url=url, client_id=creds.client_id, client_secret=creds.secret, **settings),
        sleep=sleeps if sleeps is not None else Sleeps(),
    )


@pytest.fixture
def recorder(proxy: RecordingProxy) -> Iterator[RecordingProxy]:
    proxy.clear()
    yield proxy
    proxy.clear()


# -- isolation from the server package -------------------------------------------------------
def test_provider_imports_nothing_from_tokenrevoke() -> None:
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
                names = [a.value for a in node.args if isinstance(a, ast.Constant)]
            for name in names:
                assert name.split(".")[0] != "tokenrevoke", f"{path.name} imports {name}"
    # And at run time: load every module, build the schemas, nothing from tokenrevoke.
    code = (
        "import sys, pkgutil, importlib, terraform_provider_jans as p\n"
        "for m in pkgutil.walk_packages(p.__path__, 'terraform_provider_jans.'):\n"
        "    importlib.import_module(m.name)\n"
        "from terraform_provider_jans.docs import schema_json\n"
        "from terraform_provider_jans.provider import JansProvider\n"
        "schema_json(); JansProvider().get_resources()\n"
        "bad = [m for m in sys.modules if m == 'tokenrevoke' or m.startswith('tokenrevoke.')]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- tokens -------------------------------------------------------------------------------
def test_one_token_per_scope_cached_and_only_that_scope(
    recorder: RecordingProxy, provider_client: ApiClient
) -> None:
    client = make_client(recorder.url, provider_client)
    assert client.revoke_token(UNKNOWN_CODE) is False  # 404: unknown
    assert client.revoke_token(UNKNOWN_CODE) is False
    client.search_tokens(pattern="", client_id="", limit=1, start_index=0)
    client.feature_flags()
    assert client.log.token_requests == 3
    scopes = [r.body.decode() for r in recorder.token_calls()]
    assert scopes == [
        f"grant_type=client_credentials&scope={s.replace(':', '%3A').replace('/', '%2F')}"
        for s in (SCOPE_TOKEN_DELETE, SCOPE_TOKEN_READ, SCOPE_PROPERTIES_READ)
    ]


def test_token_cached_until_30_seconds_before_expiry(
    proxy: RecordingProxy, provider_client: ApiClient
) -> None:
    now = [1000.0]
    client = JansClient(
        Settings(url=proxy.url, client_id=provider_client.client_id,
                 client_secret=provider_client.secret),
        clock=lambda: now[0],
    )  # fmt: skip
    client.access_token(SCOPE_TOKEN_READ)  # the server's tokens live 300 s
    now[0] += 300 - 31
    client.access_token(SCOPE_TOKEN_READ)
    assert client.log.token_requests == 1
    now[0] += 2  # 29 s before expiry
    client.access_token(SCOPE_TOKEN_READ)
    assert client.log.token_requests == 2


def test_concurrent_callers_share_one_token(
    proxy: RecordingProxy, provider_client: ApiClient
) -> None:
    client = make_client(proxy.url, provider_client)
    threads = [
        threading.Thread(target=client.revoke_token, args=(UNKNOWN_CODE,)) for _ in range(10)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.log.token_requests == 1
    assert client.log.api_requests == 10


def test_a_401_drops_the_token_and_retries_once_with_a_fresh_one(
    recorder: RecordingProxy, admin: Admin, provider_client: ApiClient
) -> None:
    client = make_client(recorder.url, provider_client)
    first = client.access_token(SCOPE_TOKEN_DELETE)
    # Someone revokes the provider's own access token: the API now answers 401.
    assert admin.api("DELETE", f"/token/revoke/{sha256_hex(first)}").status_code == 204
    recorder.clear()
    assert client.revoke_token(UNKNOWN_CODE) is False
    assert client.log.token_requests == 2
    statuses = [r.status for r in recorder.api_calls()]
    assert statuses == [401, 404]
    assert client.access_token(SCOPE_TOKEN_DELETE) != first


def test_two_401s_fail_clearly(recorder: RecordingProxy, provider_client: ApiClient) -> None:
    client = make_client(recorder.url, provider_client)
    recorder.fail(401, 2, path_prefix="/jans-config-api/")
    with pytest.raises(JansError) as info:
        client.revoke_token(UNKNOWN_CODE)
    assert "rejected the access token" in info.value.summary
    assert "twice" in info.value.detail


def test_scope_not_granted_names_the_scope(admin: Admin, proxy: RecordingProxy) -> None:
    reader = admin.create_client([SCOPE_TOKEN_READ], name="read-only")
    client = make_client(proxy.url, reader)
    with pytest.raises(JansError) as info:
        client.revoke_token(UNKNOWN_CODE)
    assert info.value.summary == f"Scope not granted: {SCOPE_TOKEN_DELETE}"
    assert reader.client_id in info.value.detail
    assert "Add that scope to the client" in info.value.detail
    # The granted scope works.
    client.search_tokens(pattern="", client_id="", limit=1, start_index=0)


def test_bad_credentials(proxy: RecordingProxy, provider_client: ApiClient) -> None:
    client = make_client(proxy.url, ApiClient(provider_client.client_id, "wrong-secret-123456"))
    with pytest.raises(JansError) as info:
        client.revoke_token(UNKNOWN_CODE)
    assert info.value.summary == "Janssen rejected the provider's client credentials"
    assert "invalid_client" in info.value.detail
    assert "JANS_CLIENT_SECRET" in info.value.detail


def test_missing_credentials(proxy: RecordingProxy) -> None:
    client = make_client(proxy.url, ApiClient("", ""))
    with pytest.raises(JansError) as info:
        client.feature_flags()
    assert info.value.summary == "Missing client credentials"
    assert SCOPE_PROPERTIES_READ in info.value.detail


# -- retries --------------------------------------------------------------------------------
def test_unreachable_server_is_retried_then_reported(provider_client: ApiClient) -> None:
    sleeps = Sleeps()
    client = make_client(f"http://127.0.0.1:{free_port()}", provider_client, sleeps, max_retries=2)
    with pytest.raises(JansError) as info:
        client.revoke_token(UNKNOWN_CODE)
    assert info.value.summary == "Cannot reach the Janssen server"
    assert "ConnectionRefusedError" in info.value.detail
    assert "after 3 attempts" in info.value.detail
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] * 0.9  # exponential backoff


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(
    recorder: RecordingProxy, provider_client: ApiClient, status: int
) -> None:
    sleeps = Sleeps()
    client = make_client(recorder.url, provider_client, sleeps)
    client.access_token(SCOPE_TOKEN_DELETE)
    recorder.fail(status, 1, {"Retry-After": "7"}, path_prefix="/jans-config-api/")
    assert client.revoke_token(UNKNOWN_CODE) is False
    assert sleeps == [7.0]
    date = formatdate(timeval=__import__("time").time() + 3, usegmt=True)
    recorder.fail(status, 1, {"Retry-After": date}, path_prefix="/jans-config-api/")
    assert client.revoke_token(UNKNOWN_CODE) is False
    assert 1.0 <= sleeps[1] <= 3.5


def test_5xx_backoff_then_success_and_exhaustion(
    recorder: RecordingProxy, provider_client: ApiClient
) -> None:
    sleeps = Sleeps()
    client = make_client(recorder.url, provider_client, sleeps, max_retries=2)
    recorder.fail(500, 2)  # the token request, twice
    assert client.revoke_token(UNKNOWN_CODE) is False
    assert len(sleeps) == 2  # exponential backoff with jitter: 0.5 s, then 1 s, halved at most
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0
    recorder.fail(502, 3, path_prefix="/jans-config-api/")
    with pytest.raises(JansError) as info:
        client.revoke_token(UNKNOWN_CODE)
    assert info.value.summary == "The Janssen server failed to revoke a token"
    assert "HTTP 502" in info.value.detail and "after 3 attempts" in info.value.detail


# -- TLS --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    directory = tmp_path_factory.mktemp("tls")
    ca = CertificateAuthority(directory / "pki")
    issued = ca.server()
    cert, key = issued.cert_path, issued.key_path
    srv = Server(directory / "data", extra_args=["--tls-cert", str(cert), "--tls-key", str(key)],
                 scheme="https", verify=ssl.create_default_context(cafile=str(ca.cert_path)),
                 ).start()  # fmt: skip
    try:
        yield srv, ca.cert_path
    finally:
        srv.stop()


def test_tls_verification(tls_server: tuple[Server, Path], tmp_path: Path) -> None:
    srv, ca_path = tls_server
    helper = Admin(srv)
    try:
        creds = helper.create_client(PROVIDER_SCOPES, name="terraform-tls")
    finally:
        helper.close()
    with pytest.raises(JansError) as info:
        make_client(srv.url, creds).feature_flags()
    assert info.value.summary == "TLS connection to the Janssen server failed"
    assert "CERTIFICATE_VERIFY_FAILED" in info.value.detail
    assert "ca_certificate" in info.value.detail
    assert make_client(srv.url, creds, ca_certificate=str(ca_path)).feature_flags() == []
    assert make_client(srv.url, creds, insecure=True).feature_flags() == []
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("nonsense")
    with pytest.raises(JansError) as info:
        make_client(srv.url, creds, ca_certificate=str(bad))
    assert info.value.summary == "Cannot load ca_certificate"


# -- provider configuration -------------------------------------------------------------------
def test_settings_from_block_then_environment() -> None:
    env = {"JANS_URL": "https://env.example", "JANS_CLIENT_ID": "env-id",
           "JANS_CLIENT_SECRET": "env-secret", "JANS_INSECURE_CLIENT": "true",
           "JANS_REQUEST_TIMEOUT": "12", "JANS_MAX_RETRIES": "1"}  # fmt: skip
    s = settings_from({}, env)
    assert (s.url, s.client_id, s.client_secret, s.insecure, s.timeout, s.max_retries) == (
        "https://env.example", "env-id", "env-secret", True, 12.0, 1,
    )  # fmt: skip
    s = settings_from({"url": "https://block.example", "client_id": "block-id",
                       "insecure_client": False, "request_timeout": 5}, env)  # fmt: skip
    assert (s.url, s.client_id, s.client_secret, s.insecure, s.timeout) == (
        "https://block.example", "block-id", "env-secret", False, 5.0,
    )  # fmt: skip
    with pytest.raises(ConfigurationError, match="url is not set"):
        settings_from({}, {})
    with pytest.raises(ConfigurationError, match="not an http"):
        settings_from({"url": "janssen.example"}, {})
    with pytest.raises(ConfigurationError, match="not a boolean"):
        settings_from({}, {**env, "JANS_INSECURE_CLIENT": "maybe"})


def test_configure_makes_no_network_call_and_defers_a_missing_url() -> None:
    provider = JansProvider()
    diags = new_diagnostics()
    # A port nobody listens on: configuring must not notice.
    provider.configure_provider(diags, {"url": f"http://127.0.0.1:{free_port()}"})
    assert not diags.has_errors()
    unconfigured = JansProvider()
    unconfigured.configure_provider(diags, {})
    assert not diags.has_errors()
    with pytest.raises(JansError, match="url is not set"):
        unconfigured.client()


def test_token_code_hash() -> None:
    assert token_code_hash("abc") == sha256_hex("abc")
    assert token_code_hash("A" * 64) == "a" * 64  # already a tknCde
