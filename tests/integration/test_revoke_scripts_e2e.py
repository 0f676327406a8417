"""Revoke Token interception scripts (docs/scripts.md), installed with the
`tokenrevoke script` CLI and exercised through a real server's /revoke.

Every script here also adds an `X-Test-Script` response header, so a test can tell the
exact moment the server has (un)loaded it instead of sleeping.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.integration.test_configapi_support import CFG, ConfigApi, admin_api
from tests.support.revoke_scripts import script_source
from tests.support.server import Client, Server

MARKER = "x-test-script"


ALLOW = script_source("""
    context.getResponseBuilder().header("X-Test-Script", "allow")
    return True
""")
VETO = script_source("""
    context.getResponseBuilder().header("X-Test-Script", "veto")
    return False
""")
RAISES = script_source("""
    context.getResponseBuilder().header("X-Test-Script", "raises")
    raise RuntimeError("the script failed on purpose")
""")
ADDS_HEADER = script_source("""
    builder = context.getResponseBuilder()
    builder.header("X-Test-Script", "header")
    builder.header("X-Revoked-By", context.getClient().getClientId())
    return True
""")
# Echoes a request parameter into a response header, as a careless script would.
ECHOES = script_source("""
    builder = context.getResponseBuilder()
    builder.header("X-Test-Script", "echoes")
    builder.header("X-Echo", context.getHttpRequest().getParameter("state"))
    return True
""")
SLEEPS = "import time\n" + script_source("""
    context.getResponseBuilder().header("X-Test-Script", "sleeps")
    time.sleep(5)
    return True
""")
# Written as for Janssen (Jython), in Python 3 syntax: Java imports, init() reading
# configurationAttributes, print() for logging, the context's request and client.
JANSSEN = """
from io.jans.model.custom.script.type.revoke import RevokeTokenType
from io.jans.service.cdi.util import CdiUtil
from java.lang import String


class RevokeToken(RevokeTokenType):
    def __init__(self, currentTimeMillis):
        self.currentTimeMillis = currentTimeMillis

    def init(self, customScript, configurationAttributes):
        print("Revoke Token script. Initializing ...")
        self.protectedClient = None
        if configurationAttributes.containsKey("protected_client"):
            self.protectedClient = configurationAttributes.get("protected_client").getValue2()
        print("Revoke Token script. Initialized successfully")
        return True

    def destroy(self, configurationAttributes):
        print("Revoke Token script. Destroying ...")
        return True

    def getApiVersion(self):
        return 11

    def revoke(self, context):
        context.getResponseBuilder().header("X-Test-Script", "janssen")
        client = context.getClient()
        token = context.getHttpRequest().getParameter("token")
        if client is not None and String(client.getClientId()) == self.protectedClient:
            print("Revoke Token script. Refusing to revoke for a protected client")
            return False
        return token is not None
"""


# -- helpers ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return server.create_client(name="scripted")


def mint(server: Server, client: Client) -> str:
    return str(server.fetch_token(client)["access_token"])


def markers(response: httpx.Response) -> list[str]:
    return response.headers.get_list(MARKER)


def probe(server: Server, client: Client) -> list[str]:
    """The markers of the scripts currently running (an unknown token: always 200)."""
    response = server.send_revoke(client, token="probe-token-unknown")
    assert response.status_code == 200, response.text
    return markers(response)


def write(tmp: Path, source: str) -> Path:
    path = tmp / f"script-{time.monotonic_ns()}.py"
    path.write_text(source)
    return path


@contextmanager
def installed(
    server: Server, client: Client, tmp: Path, name: str, source: str, marker: str, *extra: str
) -> Iterator[None]:
    """`tokenrevoke script add`, wait until the running server uses it; remove afterwards."""
    server.cli("script", "add", "--name", name, "--file", str(write(tmp, source)), *extra)
    try:
        server.wait_until(lambda: marker in probe(server, client))
        yield
    finally:
        server.cli("script", "remove", name)
        server.wait_until(lambda: marker not in probe(server, client))


def assert_ok(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"


# -- verdicts ---------------------------------------------------------------------------
def test_allowing_script_lets_revocation_proceed(
    server: Server, client: Client, tmp_path: Path
) -> None:
    with installed(server, client, tmp_path, "allow", ALLOW, "allow"):
        token = mint(server, client)
        response = server.send_revoke(client, token=token)
        assert_ok(response)
        assert markers(response) == ["allow"]
        assert not server.is_active(token)


@pytest.mark.parametrize(
    ("source", "marker"), [(VETO, "veto"), (RAISES, "raises")], ids=["returns-false", "raises"]
)
def test_refusing_script_gives_200_and_revokes_nothing(
    server: Server, client: Client, tmp_path: Path, source: str, marker: str
) -> None:
    outcome = {"veto": "veto", "raises": "error"}[marker]
    stops = {"script": marker, "outcome": outcome}
    with installed(server, client, tmp_path, marker, source, marker):
        before = server.metric("tokenrevoke_revoke_script_stops_total", **stops)
        vetoed = server.metric("tokenrevoke_revocations_total", outcome="vetoed")
        token = mint(server, client)
        response = server.send_revoke(client, token=token)
        assert_ok(response)
        assert server.is_active(token)
        # Nor a revoke-all, nor a list.
        other = mint(server, client)
        assert_ok(server.send_revoke(client, token=f"{token} {other}"))
        assert server.is_active(token) and server.is_active(other)
        assert server.metric("tokenrevoke_revoke_script_stops_total", **stops) == before + 2
        assert server.metric("tokenrevoke_revocations_total", outcome="vetoed") == vetoed + 2
    assert_ok(server.send_revoke(client, token=token))
    assert not server.is_active(token)


def test_janssen_style_script_with_configuration_attributes(server: Server, tmp_path: Path) -> None:
    protected = server.create_client(name="protected")
    ordinary = server.create_client(name="ordinary")
    attribute = f"protected_client={protected.client_id}"
    with installed(
        server, ordinary, tmp_path, "janssen", JANSSEN, "janssen", "--attribute", attribute
    ):
        kept, gone = mint(server, protected), mint(server, ordinary)
        response = server.send_revoke(protected, token=kept)
        assert_ok(response)
        assert markers(response) == ["janssen"]
        assert server.is_active(kept)
        assert_ok(server.send_revoke(ordinary, token=gone))
        assert not server.is_active(gone)
    assert "Revoke Token script. Initialized successfully" in server.log()


def test_script_adds_response_header(server: Server, client: Client, tmp_path: Path) -> None:
    with installed(server, client, tmp_path, "header", ADDS_HEADER, "header"):
        token = mint(server, client)
        response = server.send_revoke(client, token=token)
        assert_ok(response)
        assert response.headers["x-revoked-by"] == client.client_id
        assert not server.is_active(token)


def test_script_cannot_be_made_to_split_the_response(
    server: Server, client: Client, tmp_path: Path
) -> None:
    """CR/LF sent percent-encoded in a parameter that a script echoes into a header: the
    header is dropped (and logged without its value); the revocation goes on."""
    with installed(server, client, tmp_path, "echoes", ECHOES, "echoes"):
        response = server.send_revoke(client, token="unknown", state="plain")
        assert response.headers["x-echo"] == "plain"
        for evil in ("a\r\nX-Injected: yes", "a\nX-Injected: yes", "a\x00b", "caf\u20ac"):
            token = mint(server, client)
            response = server.send_revoke(client, token=token, state=evil)
            assert_ok(response)
            assert "x-echo" not in response.headers and "x-injected" not in response.headers
            assert markers(response) == ["echoes"]
            assert not server.is_active(token)
    assert "X-Injected" not in server.log()


def test_disable_enable_remove_take_effect_without_restart(
    server: Server, client: Client, tmp_path: Path
) -> None:
    pid = server.process.pid if server.process else None
    server.cli("script", "add", "--name", "toggle", "--file", str(write(tmp_path, VETO)))
    try:
        server.wait_until(lambda: "veto" in probe(server, client))
        token = mint(server, client)
        assert_ok(server.send_revoke(client, token=token))
        assert server.is_active(token)

        server.cli("script", "disable", "toggle")
        server.wait_until(lambda: "veto" not in probe(server, client))
        listed = json.loads(server.cli("script", "list", "--json").stdout)
        assert [s["enabled"] for s in listed if s["name"] == "toggle"] == [False]
        other = mint(server, client)
        assert_ok(server.send_revoke(client, token=other))
        assert not server.is_active(other)

        server.cli("script", "enable", "toggle")
        server.wait_until(lambda: "veto" in probe(server, client))
        assert_ok(server.send_revoke(client, token=token))
        assert server.is_active(token)
    finally:
        server.cli("script", "remove", "toggle")
    server.wait_until(lambda: "veto" not in probe(server, client))
    assert_ok(server.send_revoke(client, token=token))
    assert not server.is_active(token)
    assert "toggle" not in server.cli("script", "list").stdout
    assert server.process is not None and server.process.pid == pid  # never restarted


@pytest.mark.parametrize(
    "source",
    [
        "class RevokeToken(:\n    pass\n",
        'print "python 2 print statement"\n',
        "x = 1\n",  # compiles, but has no script class
    ],
    ids=["syntax-error", "python2", "no-class"],
)
def test_script_add_rejects_bad_source(server: Server, tmp_path: Path, source: str) -> None:
    result = server.cli(
        "script", "add", "--name", "broken", "--file", str(write(tmp_path, source)), check=False
    )
    assert result.returncode != 0
    assert "script rejected" in result.stdout + result.stderr
    listed = json.loads(server.cli("script", "list", "--json").stdout)
    assert "broken" not in [s["name"] for s in listed]


# -- a hung script ------------------------------------------------------------------------
# Given to the timeout server, which must never hand it to its script worker.
MASTER_KEY = base64.urlsafe_b64encode(b"k" * 32).decode().rstrip("=")


@pytest.fixture
def timeout_server(tmp_path: Path) -> Iterator[Server]:
    """Its own server: the hung scripts must not slow the other tests down."""
    srv = Server(tmp_path / "data", env={"TOKENREVOKE_MASTER_KEY": MASTER_KEY})
    srv.configure({"revokeTokenScriptTimeoutMs": 300}).start()
    try:
        yield srv
    finally:
        srv.stop()


def test_hung_script_times_out_quickly(timeout_server: Server, tmp_path: Path) -> None:
    server = timeout_server
    client = server.create_client(name="slow")
    server.cli("script", "add", "--name", "sleeps", "--file", str(write(tmp_path, SLEEPS)))
    server.wait_until(lambda: "sleeps" in probe(server, client))
    timeouts = {"script": "sleeps", "outcome": "timeout"}
    before = server.metric("tokenrevoke_revoke_script_stops_total", **timeouts)
    token = mint(server, client)
    started = time.monotonic()
    response = server.send_revoke(client, token=token)
    elapsed = time.monotonic() - started
    assert_ok(response)
    assert elapsed < 2.0, f"/revoke took {elapsed:.2f}s with a 300 ms script timeout"
    assert server.is_active(token)
    assert server.metric("tokenrevoke_revoke_script_stops_total", **timeouts) == before + 1
    # The server stays responsive and shuts down promptly despite the sleeping threads.
    with server.http() as http:
        assert http.get("/health/live").status_code == 200
    server.close_session()
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 4.0
    assert server.process is not None and server.process.returncode is not None


# -- scripts cannot take the server, nor read its secrets through it (security.md S1) ------
def test_upload_answer_never_echoes_what_the_script_read(server: Server) -> None:
    """A token with only `scripts.write` uploads a script whose top-level code reads the
    master key and runs `id`, then raises both: the 400 says neither."""
    key = (server.data_dir / "master.key").read_text().strip()
    who = subprocess.run(["id"], capture_output=True, text=True, check=True).stdout.strip()
    source = (
        "import subprocess\n"
        f"key = open({str(server.data_dir / 'master.key')!r}).read()\n"
        "raise RuntimeError(key + ' ' + subprocess.check_output(['id']).decode())\n"
    ) + ALLOW
    api = admin_api(server)
    writer = ConfigApi(server, api.token_for(CFG + "scripts.write"))
    body = {"name": "reads-the-key", "scriptType": "revoke_token", "script": source}
    response = writer.call("POST", "/config/scripts", json=body)
    assert response.status_code == 400, response.text
    assert key not in response.text and who not in response.text and "uid=" not in response.text
    assert "RuntimeError at line 3" in response.text
    assert "reads-the-key" not in [s["name"] for s in api.ok("GET", "/config/scripts")["entries"]]


EXITS_IN_INIT = script_source("""
    context.getResponseBuilder().header("X-Test-Script", "exits")
    return True
""") + textwrap.indent(
    "\ndef init(self, customScript, configurationAttributes):\n    import os\n    os._exit(3)\n",
    " " * 4,
)


def test_a_script_that_exits_never_stops_the_server(fresh_server: Server, tmp_path: Path) -> None:
    """`os._exit()` at upload (top level, guarded by argv or not) and at load (in init(),
    which validation does not run): the server serves on, and after a restart with the
    script stored it starts, serves, and logs the script as disabled."""
    server = fresh_server
    client = server.create_client(name="survivor")
    guarded = "import os, sys\nif 'serve' in sys.argv:\n    os._exit(1)\n" + ALLOW
    server.cli("script", "add", "--name", "guarded", "--file", str(write(tmp_path, guarded)))
    server.cli("script", "remove", "guarded")
    bare = "import os\nos._exit(1)\n" + ALLOW
    result = server.cli(
        "script", "add", "--name", "bare", "--file", str(write(tmp_path, bare)), check=False
    )
    assert result.returncode != 0 and "ended its interpreter" in result.stdout + result.stderr
    server.cli(
        "script", "add", "--name", "init-exits", "--file", str(write(tmp_path, EXITS_IN_INIT))
    )
    server.wait_until(lambda: "'init-exits' is disabled" in server.log())
    assert server.running
    token = mint(server, client)
    assert_ok(server.send_revoke(client, token=token))
    assert not server.is_active(token)

    server.stop()
    logged = len(server.log())
    server.start()
    assert "'init-exits' is disabled" in server.log()[logged:]
    token = mint(server, client)
    response = server.send_revoke(client, token=token)
    assert_ok(response)
    assert markers(response) == [] and not server.is_active(token)
    listed = json.loads(server.cli("script", "list", "--json").stdout)
    assert [s["enabled"] for s in listed if s["name"] == "init-exits"] == [True]  # as stored


# Reports its process and what it can see; hangs when asked to.
INSPECTS = "import json, os, sys, time\n" + script_source("""
    if context.getHttpRequest().getParameter("mode") == "hang":
        time.sleep(30)
    seen = {
        "pid": os.getpid(),
        "env": sorted(os.environ),
        "store": [m for m in sys.modules if m.startswith(("tokenrevoke.store", "tokenrevoke.c"))],
    }
    context.getResponseBuilder().header("X-Test-Script", "inspects")
    context.getResponseBuilder().header("X-Seen", json.dumps(seen))
    return True
""")


def test_worker_lacks_the_server_env_and_store_and_a_hung_one_is_replaced(
    timeout_server: Server, tmp_path: Path
) -> None:
    server = timeout_server
    client = server.create_client(name="inspected")
    server.cli("script", "add", "--name", "inspects", "--file", str(write(tmp_path, INSPECTS)))
    server.wait_until(lambda: "inspects" in probe(server, client))

    def seen() -> dict[str, object]:
        response = server.send_revoke(client, token="unknown")
        assert markers(response) == ["inspects"], response.headers
        found: dict[str, object] = json.loads(response.headers["x-seen"])
        return found

    first = seen()
    assert server.process is not None and first["pid"] != server.process.pid
    assert "TOKENREVOKE_MASTER_KEY" not in first["env"] and first["store"] == []
    assert not any(str(name).startswith("TOKENREVOKE") for name in first["env"])  # type: ignore[attr-defined]

    token = mint(server, client)
    started = time.monotonic()
    response = server.send_revoke(client, token=token, mode="hang")
    assert time.monotonic() - started < 2.0
    assert_ok(response)
    assert server.is_active(token)  # a timed-out script stops the revocation
    server.wait_until(lambda: seen()["pid"] != first["pid"])  # killed and replaced
    with pytest.raises(ProcessLookupError):
        os.kill(int(first["pid"]), 0)  # type: ignore[call-overload]
    assert "was stopped: no answer within" in server.log()
    assert_ok(server.send_revoke(client, token=token))
    assert not server.is_active(token)
