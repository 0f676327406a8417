"""Revoke Token interception scripts: loading, Janssen shims, verdicts, timeouts, and the
worker process they run in (its isolation, its restarts)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tokenrevoke.model.client import Client
from tokenrevoke.model.script import ScriptDefinition
from tokenrevoke.scripts.host import validate_source as validate_revoke_script
from tokenrevoke.scripts.protocol import ScriptError
from tokenrevoke.scripts.revoke_token import (
    RevokeScriptRequest,
    RevokeTokenScripts,
    ScriptVerdict,
)

JANSSEN_ALLOW = """
from io.jans.model.custom.script.type.revoke import RevokeTokenType
from java.lang import String

class RevokeToken(RevokeTokenType):
    def __init__(self, currentTimeMillis):
        self.currentTimeMillis = currentTimeMillis

    def init(self, customScript, configurationAttributes):
        print("Revoke Token script. Initializing ...")
        return True

    def destroy(self, configurationAttributes):
        return True

    def getApiVersion(self):
        return 11

    def revoke(self, context):
        return String("yes") == "yes"
"""


def revoke_body(body: str, *, header: str = "", api_version: int = 11) -> str:
    """A Janssen-style script whose revoke() runs `body` (indented for you)."""
    return (
        "from io.jans.model.custom.script.type.revoke import RevokeTokenType\n"
        f"{header}\n"
        "class RevokeToken(RevokeTokenType):\n"
        "    def getApiVersion(self):\n"
        f"        return {api_version}\n"
        "    def revoke(self, context):\n" + textwrap.indent(textwrap.dedent(body), " " * 8)
    )


def script(name: str, source: str, **kwargs: object) -> ScriptDefinition:
    return ScriptDefinition(inum=kwargs.pop("inum", name), name=name, source=source, **kwargs)  # type: ignore[arg-type]


def request(**params: str) -> RevokeScriptRequest:
    return RevokeScriptRequest(
        params={"token": "tok-SECRET-123", **params},
        headers={"authorization": "Basic Y2xpZW50OnNlY3JldA==", "x-tenant": "acme"},
        remote_addr="10.0.0.7",
        client=Client(client_id="client-1", client_name="Demo", scopes=["openid", "email"]),
    )


def run(engine: RevokeTokenScripts, req: RevokeScriptRequest | None = None) -> ScriptVerdict:
    return asyncio.run(engine.run(req or request()))


@pytest.fixture
def engine() -> Iterator[RevokeTokenScripts]:
    scripts = RevokeTokenScripts(timeout=1.0)
    yield scripts
    scripts.close()


def load_ok(engine: RevokeTokenScripts, *defs: ScriptDefinition) -> None:
    assert engine.load(list(defs)) == []


# ----------------------------------------------------------------------- verdicts


def test_no_scripts_allows(engine: RevokeTokenScripts) -> None:
    assert not engine.active
    verdict = run(engine)
    assert verdict == ScriptVerdict(allowed=True)


def test_janssen_style_script_allows(engine: RevokeTokenScripts) -> None:
    load_ok(engine, script("allow", JANSSEN_ALLOW))
    assert engine.active
    verdict = run(engine)
    assert verdict.allowed and verdict.outcome == "allowed" and verdict.script is None


def test_gluu_import_path_and_old_init_signature(engine: RevokeTokenScripts) -> None:
    source = """
from org.gluu.model.custom.script.type.revoke import RevokeTokenType
from io.jans.service.cdi.util import CdiUtil

class RevokeToken(RevokeTokenType):
    def __init__(self, currentTimeMillis):
        self.ready = False
    def init(self, configurationAttributes):
        self.ready = configurationAttributes.containsKey("mode")
        return True
    def getApiVersion(self):
        return 11
    def revoke(self, context):
        return self.ready
"""
    load_ok(engine, script("gluu", source, configuration_attributes={"mode": "x"}))
    assert run(engine).allowed


def test_veto(engine: RevokeTokenScripts, caplog: pytest.LogCaptureFixture) -> None:
    load_ok(engine, script("deny", revoke_body("return False")))
    with caplog.at_level(logging.WARNING, logger="tokenrevoke.scripts"):
        verdict = run(engine)
    assert not verdict.allowed
    assert (verdict.script, verdict.outcome) == ("deny", "veto")
    assert "deny" in caplog.text and "veto" in caplog.text


def test_none_is_a_veto_and_truthy_allows(engine: RevokeTokenScripts) -> None:
    load_ok(engine, script("none", revoke_body("return None")))
    assert run(engine).outcome == "veto"
    load_ok(engine, script("one", revoke_body("return 1")))
    assert run(engine).allowed


def test_exception_is_error_and_secrets_are_redacted(
    engine: RevokeTokenScripts, caplog: pytest.LogCaptureFixture
) -> None:
    body = """
    token = context.getHttpRequest().getParameter("token")
    print("checking", token, context.getHttpRequest().getParameter("client_secret"))
    raise ValueError("bad token " + token)
    """
    load_ok(engine, script("boom", revoke_body(body)))
    with caplog.at_level(logging.INFO, logger="tokenrevoke.scripts"):
        verdict = run(engine, request(client_secret="s3cr3t-value"))
    assert (verdict.allowed, verdict.script, verdict.outcome) == (False, "boom", "error")
    assert verdict.detail.startswith("ValueError: bad token")
    assert "tok-SECRET-123" not in verdict.detail
    assert "checking" in caplog.text  # print() went to the log...
    assert "tok-SECRET-123" not in caplog.text  # ...redacted
    assert "s3cr3t-value" not in caplog.text


def test_print_does_not_reach_stdout(
    engine: RevokeTokenScripts, capsys: pytest.CaptureFixture[str]
) -> None:
    load_ok(engine, script("chatty", revoke_body('print("hello from script")\nreturn True')))
    assert run(engine).allowed
    assert "hello from script" not in capsys.readouterr().out


def test_system_exit_in_script_is_an_error(engine: RevokeTokenScripts) -> None:
    load_ok(engine, script("exit", revoke_body("import sys\nsys.exit(3)")))
    verdict = run(engine)
    assert (verdict.outcome, verdict.detail) == ("error", "SystemExit: 3")


def test_hung_script_times_out_and_server_never_hangs() -> None:
    engine = RevokeTokenScripts(timeout=0.2)
    try:
        load_ok(engine, script("hang", revoke_body("import time\ntime.sleep(30)")))
        for _ in range(2):  # the second call waits for the restarted worker
            started = time.monotonic()
            verdict = run(engine)
            assert time.monotonic() - started < 1.0
            assert (verdict.allowed, verdict.script, verdict.outcome) == (False, "hang", "timeout")

        async def many() -> list[ScriptVerdict]:
            return await asyncio.gather(*(engine.run(request()) for _ in range(5)))

        started = time.monotonic()
        verdicts = asyncio.run(many())
        assert time.monotonic() - started < 1.5
        assert {v.outcome for v in verdicts} == {"timeout"}
    finally:
        closing = time.monotonic()
        engine.close()
        assert time.monotonic() - closing < 3.0


def test_api_version_one_is_skipped(engine: RevokeTokenScripts) -> None:
    load_ok(engine, script("old", revoke_body("return False", api_version=1)))
    assert not engine.active
    assert run(engine).allowed


def test_order_by_level_then_name(engine: RevokeTokenScripts) -> None:
    record = """
    context.getResponseBuilder().header("X-Order", context.getCustomScript().getName())
    return context.getCustomScript().getName() != "c-stop"
    """
    load_ok(
        engine,
        script("z-first", revoke_body(record), level=1),
        script("c-stop", revoke_body(record), level=5),
        script("b-second", revoke_body(record), level=5),
        script("a-never", revoke_body(record), level=9),
        script("disabled", revoke_body("return False"), level=0, enabled=False),
        script("other-type", revoke_body("return False"), level=0, script_type="update_token"),
    )
    verdict = run(engine)
    assert (verdict.script, verdict.outcome) == ("c-stop", "veto")
    assert [value for _, value in verdict.response_headers] == ["z-first", "b-second", "c-stop"]


def test_configuration_attributes(engine: RevokeTokenScripts) -> None:
    body = """
    attrs = context.getScriptConfigurationAttributes()
    self.seen = (attrs.get("x").getValue1(), attrs.get("x").getValue2(), attrs["x"].getValue2(),
                 sorted(attrs.keySet()), attrs.containsKey("nope"), attrs.get("nope"))
    return self.allowed_value == attrs.get("x").getValue2()
    """
    source = revoke_body(body) + (
        "\n    def init(self, customScript, configurationAttributes):\n"
        "        self.allowed_value = configurationAttributes.get('x').getValue2()\n"
        "        return customScript.getName() == 'cfg'\n"
    )
    source = source.replace(
        "    return self.allowed_value",
        "    context.getResponseBuilder().header('X-Seen', repr(self.seen))\n"
        "        return self.allowed_value",
    )
    defn = script("cfg", source, configuration_attributes={"x": "42", "y": "other"})
    load_ok(engine, defn)
    verdict = run(engine)
    assert verdict.allowed
    seen = ("x", "42", "42", ["x", "y"], False, None)
    assert verdict.response_headers == [("X-Seen", repr(seen))]


def test_response_builder_headers_are_validated(engine: RevokeTokenScripts) -> None:
    body = """
    builder = context.getResponseBuilder()
    builder.header("X-Revoke-Policy", "checked").header("X-Bad", "a\\r\\nSet-Cookie: x=1")
    builder.header("X-Bad\\n", "v")
    builder.header("X-Unicode", "caf\\u00e9 \\u2603")
    builder.header("Content-Length", "0")
    context.getHttpResponse().setHeader("X-Count", 3)
    return False
    """
    load_ok(engine, script("hdr", revoke_body(body)))
    verdict = run(engine)
    assert verdict.outcome == "veto"
    assert verdict.response_headers == [("X-Revoke-Policy", "checked"), ("X-Count", "3")]


def test_request_client_and_remote_addr(engine: RevokeTokenScripts) -> None:
    body = """
    req = context.getHttpRequest()
    client = context.getClient()
    return (req.getParameter("token_type_hint") == "refresh_token"
            and req.getParameter("missing") is None
            and req.getParameterMap()["token_type_hint"] == ["refresh_token"]
            and req.getHeader("X-Tenant") == "acme"
            and req.getRemoteAddr() == "10.0.0.7"
            and client.getClientId() == "client-1"
            and client.getClientName() == "Demo"
            and "email" in client.getScopes()
            and client.client.client_id == "client-1")
    """
    load_ok(engine, script("req", revoke_body(body)))
    assert run(engine, request(token_type_hint="refresh_token")).allowed
    assert run(engine, request(token_type_hint="access_token")).outcome == "veto"


# --------------------------------------------------------------------- validation


def test_validate_accepts_janssen_script() -> None:
    validate_revoke_script(JANSSEN_ALLOW)


def test_validate_rejects_python2_syntax() -> None:
    python2 = JANSSEN_ALLOW.replace('print("Revoke Token script. Initializing ...")', 'print "x"')
    with pytest.raises(ScriptError, match="syntax error at line 10: Missing parentheses.*Python 3"):
        validate_revoke_script(python2)


def test_validate_rejects_missing_revoke() -> None:
    source = """
class RevokeToken(object):
    def init(self, customScript, configurationAttributes):
        return True
    def destroy(self, configurationAttributes):
        return True
    def getApiVersion(self):
        return 11
"""
    with pytest.raises(ScriptError, match="no callable revoke"):
        validate_revoke_script(source)
    with pytest.raises(ScriptError, match="no class"):
        validate_revoke_script("x = 1\n")


def test_validate_rejects_unknown_java_import_and_hung_top_level() -> None:
    # (`io.jans.as.*` cannot even be written in Python 3: `as` is a keyword.)
    with pytest.raises(ScriptError, match="io.jans.orm is a Java/Janssen module"):
        validate_revoke_script("from io.jans.orm import PersistenceEntryManager\n")
    started = time.monotonic()
    with pytest.raises(ScriptError, match="did not finish"):
        validate_revoke_script("import time\ntime.sleep(30)\n", timeout=0.1)
    assert time.monotonic() - started < 5.0  # the worker's start-up is not the script's time


def test_validate_rejects_bad_constructor() -> None:
    source = revoke_body("return True") + "\n    def __init__(self):\n        pass\n"
    with pytest.raises(ScriptError, match="currentTimeMillis"):
        validate_revoke_script(source)


# ------------------------------------------------------------------------ loading


# init() and destroy() append to the file named by the attribute `journal`: they run in
# the worker process, so a file is how the test sees them.
JOURNALING = """
from io.jans.model.custom.script.type.revoke import RevokeTokenType

class RevokeToken(RevokeTokenType):
    def init(self, customScript, configurationAttributes):
        self.name = customScript.getName()
        self.journal = configurationAttributes.get("journal").getValue2()
        with open(self.journal, "a") as f:
            f.write("init " + self.name + "\\n")
        return True
    def destroy(self, configurationAttributes):
        with open(self.journal, "a") as f:
            f.write("destroy " + self.name + "\\n")
        return True
"""


def test_reload_keeps_unchanged_and_destroys_removed(
    engine: RevokeTokenScripts, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    attributes = {"journal": str(journal)}

    def journaled(name: str, revision: int) -> ScriptDefinition:
        return script(name, JOURNALING, revision=revision, configuration_attributes=attributes)

    def entries() -> list[str]:
        return sorted(journal.read_text().splitlines())

    keep, change, drop = journaled("keep", 1), journaled("change", 1), journaled("drop", 1)
    load_ok(engine, keep, change, drop)
    assert entries() == ["init change", "init drop", "init keep"]
    journal.write_text("")

    load_ok(engine, keep, journaled("change", 2))
    assert entries() == ["destroy change", "destroy drop", "init change"]  # keep kept
    journal.write_text("")

    engine.close()
    assert not engine.active
    assert entries() == ["destroy change", "destroy keep"]


def test_load_reports_failures_and_keeps_good_scripts(engine: RevokeTokenScripts) -> None:
    refuses = revoke_body("return True") + (
        "\n    def init(self, customScript, configurationAttributes):\n        return False\n"
    )
    failures = engine.load(
        [
            script("good", JANSSEN_ALLOW),
            script("syntax", "def oops(:\n"),
            script("refuses", refuses),
            script("raises", "raise RuntimeError('nope')\n"),
        ]
    )
    assert [name for name, _ in failures] == ["raises", "refuses", "syntax"]
    assert "init() returned False" in dict(failures)["refuses"]
    assert "top-level code raised RuntimeError at line 1" in dict(failures)["raises"]
    assert [s.name for s in engine._host.runnable] == ["good"]
    assert run(engine).allowed


def test_stdlib_io_untouched_by_scripts(engine: RevokeTokenScripts) -> None:
    body = """
    import io
    import io.jans.model.custom.script.type.revoke as revoke_module
    return io.StringIO("ok").read() == "ok" and revoke_module.RevokeTokenType is not None
    """
    load_ok(engine, script("io", revoke_body(body)), script("allow", JANSSEN_ALLOW))
    assert run(engine).allowed
    assert sys.modules["io"] is io
    assert io.BytesIO(b"x").read() == b"x"
    assert not any(name == "java" or name.startswith(("java.", "io.jans")) for name in sys.modules)


def test_invalid_settings() -> None:
    with pytest.raises(ValueError):
        RevokeTokenScripts(timeout=0)
    engine = RevokeTokenScripts()
    with pytest.raises(ValueError):
        engine.set_timeout(float("nan"))
    engine.set_timeout(0.5)
    engine.close()


def test_isolated_validation_survives_scripts_that_end_the_process() -> None:
    validate_revoke_script(JANSSEN_ALLOW)
    with pytest.raises(ScriptError, match="ended its interpreter"):
        validate_revoke_script("import os\nos._exit(3)\n")
    with pytest.raises(ScriptError, match="no"):
        validate_revoke_script("x = 1\n")
    faking = 'import sys\nsys.stdout.write("\\n@@tokenrevoke-verdict@@ VALID")\n'
    with pytest.raises(ScriptError):
        validate_revoke_script(faking)
    with pytest.raises(ScriptError):
        validate_revoke_script("import time\ntime.sleep(30)\n", timeout=0.2)


# ------------------------------------------------------------------ the worker process


def test_worker_holds_no_server_secret_env_or_store(
    engine: RevokeTokenScripts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker gets a clean environment and imports nothing of the store or crypto."""
    monkeypatch.setenv("TOKENREVOKE_MASTER_KEY", "bWFzdGVyLWtleS1mb3ItdGhlLXRlc3QtMDEyMzQ1Njc4OQ")
    monkeypatch.setenv("TOKENREVOKE_DATABASE_URL", "postgresql://user:pw@db/x")
    body = """
    import os, sys
    seen = {
        "pid": os.getpid(),
        "env": sorted(os.environ),
        "cwd": os.getcwd(),
        "modules": sorted(m for m in sys.modules if m.startswith(("tokenrevoke", "cryptography"))),
    }
    context.getResponseBuilder().header("X-Seen", json.dumps(seen))
    return True
    """
    load_ok(engine, script("spy", revoke_body(body, header="import json")))
    verdict = run(engine)
    assert verdict.allowed
    seen = json.loads(dict(verdict.response_headers)["X-Seen"])
    assert seen["pid"] != os.getpid() and seen["pid"] == engine.worker_pid
    assert not any(name.startswith("TOKENREVOKE") for name in seen["env"]), seen["env"]
    assert seen["cwd"] == "/"
    assert not any(
        m.startswith(("tokenrevoke.store", "tokenrevoke.crypto", "tokenrevoke.model", "crypto"))
        for m in seen["modules"]
    ), seen["modules"]


def test_client_credentials_are_withheld_from_the_worker(engine: RevokeTokenScripts) -> None:
    body = """
    req = context.getHttpRequest()
    seen = [req.getParameter("client_secret"), req.getHeader("Authorization"),
            req.getParameter("token")]
    context.getResponseBuilder().header("X-Seen", " | ".join(seen))
    return True
    """
    load_ok(engine, script("creds", revoke_body(body)))
    verdict = run(engine, request(client_secret="s3cr3t-value"))
    assert dict(verdict.response_headers)["X-Seen"] == (
        "[redacted] | Basic [redacted] | tok-SECRET-123"
    )


def _wait_for(predicate: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_a_worker_that_exits_or_hangs_is_replaced(engine: RevokeTokenScripts) -> None:
    body = """
    import os, time
    mode = context.getHttpRequest().getParameter("mode")
    if mode == "exit":
        os._exit(7)
    if mode == "hang":
        time.sleep(60)
    return True
    """
    engine.set_timeout(0.5)
    load_ok(engine, script("moody", revoke_body(body)))
    for mode, outcome in (("exit", "error"), ("hang", "timeout")):
        first = engine.worker_pid
        verdict = run(engine, request(mode=mode))
        assert (verdict.allowed, verdict.script, verdict.outcome) == (False, "moody", outcome)
        _wait_for(lambda: engine.worker_pid not in (None, first))
        assert first is not None and not _alive(first)
        assert run(engine, request(mode="fine")).allowed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_script_that_ends_the_worker_while_loading_is_left_out(
    engine: RevokeTokenScripts, caplog: pytest.LogCaptureFixture
) -> None:
    exits = revoke_body("return True") + (
        "\n    def init(self, customScript, configurationAttributes):\n"
        "        import os\n        os._exit(3)\n"
    )
    hangs = "import time\ntime.sleep(60)\n" + revoke_body("return True")
    engine.set_timeout(0.3)
    with caplog.at_level(logging.ERROR, logger="tokenrevoke.scripts"):
        failures = dict(
            engine.load(
                [
                    script("a-exits", exits),
                    script("b-hangs", hangs),
                    script("c-good", revoke_body("return False")),
                ]
            )
        )
    assert sorted(failures) == ["a-exits", "b-hangs"]
    assert "ended the script worker" in failures["a-exits"]
    assert "did not finish" in failures["b-hangs"]
    assert "'a-exits' is disabled" in caplog.text
    assert [s.name for s in engine._host.runnable] == ["c-good"]
    assert run(engine).outcome == "veto"


def test_validation_never_echoes_what_the_script_computed(tmp_path: Path) -> None:
    secret = tmp_path / "master.key"
    secret.write_text("TOP-SECRET-KEY-MATERIAL")
    attempts = [
        f"raise RuntimeError(open({str(secret)!r}).read())\n",
        f"raise type('K' + open({str(secret)!r}).read().replace('-', '_'), (Exception,), {{}})()\n",
        f"__import__('java.' + open({str(secret)!r}).read().replace('-', '_'))\n",
        "import subprocess\nraise ValueError(subprocess.check_output(['id']).decode())\n",
        f"class K:\n    pass\nK.__name__ = open({str(secret)!r}).read()\n"
        "class RevokeToken:\n    def revoke(self, c):\n        return True\n",
    ]
    for source in attempts:
        with pytest.raises(ScriptError) as raised:
            validate_revoke_script(source)
        message = str(raised.value)
        assert "SECRET" not in message and "uid=" not in message, message


def test_no_worker_runs_while_no_script_is_enabled(engine: RevokeTokenScripts) -> None:
    """The hot path without scripts stays in process: no worker is started, and the one
    started for a script stops when the last script is disabled."""
    load_ok(engine, script("off", JANSSEN_ALLOW, enabled=False))
    assert engine.worker_pid is None and not engine.active
    load_ok(engine, script("on", JANSSEN_ALLOW))
    pid = engine.worker_pid
    assert pid is not None and engine.active
    load_ok(engine, script("on", JANSSEN_ALLOW, enabled=False))
    assert engine.worker_pid is None and not engine.active
    assert not _alive(pid)
