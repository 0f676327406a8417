"""The docs run as written: the `sh` blocks of docs/quickstart.md and README.md, in order, in
one bash session, in a fresh directory with `./dev` (what a user has after the README's
set-up), against a real server that the docs' own `./dev serve` starts. The only change:
port 8080 becomes a free port (the URLs in the commands, and TOKENREVOKE_PORT for `serve`).

A comment before a block says how it runs: `<!-- docs-test: skip: REASON -->` (not run,
with the reason) or `<!-- docs-test: background: REASON -->` (its last command runs in the
background until the session ends, and the session waits until the port answers)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import ADMIN_ID, ADMIN_SECRET, HERMETIC_ENV, free_port
from tests.support.services import required

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"(?:<!-- docs-test: (\w+): ([^\n]*?) -->\n)?```sh\n(.*?)```", re.S)
TIMEOUT = 240
TOOLS = ("bash", "curl", "jq", "openssl")  # what the docs' commands use besides ./dev


@pytest.fixture(autouse=True)
def _tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing and required():
        pytest.fail(f"the docs need {', '.join(missing)}, missing here")
    if missing:
        pytest.skip(f"the docs need {', '.join(missing)}, missing here")


@dataclass
class Block:
    how: str  # "run", "skip" or "background"
    reason: str
    code: str


def blocks(doc: Path) -> list[Block]:
    found = [
        Block(how or "run", reason, code) for how, reason, code in BLOCK.findall(doc.read_text())
    ]
    for block in found:
        assert block.how in {"run", "skip", "background"}, block
        assert block.how == "run" or block.reason.strip(), (
            f"{doc.name}: a {block.how} needs a reason"
        )
    return found


def script(found: list[Block], port: int, prelude: str = "") -> str:
    """One bash script of the runnable blocks; the background server is stopped at exit."""
    lines = [
        "set -euo pipefail",
        "SERVER_PID=",
        'trap \'[ -z "$SERVER_PID" ] || { kill "$SERVER_PID"; wait "$SERVER_PID" || true; }\' EXIT',
        prelude,
    ]
    for number, block in enumerate(found, 1):
        if block.how == "skip":
            continue
        code = block.code.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
        lines.append(f"echo '### block {number}'")
        if block.how == "background":
            commands = [
                line
                for line in code.splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
            *before, last = commands
            lines += [*before, f"{last} > server.log 2>&1 &", "SERVER_PID=$!", wait_for(port)]
        else:
            lines.append(code)
    return "\n".join(lines) + "\n"


def wait_for(port: int) -> str:
    return (
        f"for _ in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:{port}/ && break; "
        'kill -0 "$SERVER_PID" || { cat server.log; exit 1; }; sleep 0.1; done'
    )


def run(tmp_path: Path, text: str, port: int) -> subprocess.CompletedProcess[str]:
    """bash in a directory of its own, where `./dev` is the repository's (as in a clone)."""
    dev = tmp_path / "dev"
    dev.write_text(f'#!/bin/sh\nexec "{ROOT / "dev"}" "$@"\n')
    dev.chmod(0o755)
    (tmp_path / "session.sh").write_text(text)
    env = {**os.environ, **HERMETIC_ENV, "TOKENREVOKE_PORT": str(port), "COLUMNS": "80"}
    process = subprocess.Popen(["bash", "session.sh"], cwd=tmp_path, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)  # fmt: skip
    try:
        out, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)  # the session and the server it started
        out, _ = process.communicate()
        pytest.fail(f"the docs did not finish in {TIMEOUT} s:\n{out}")
    return subprocess.CompletedProcess(process.args, process.returncode, out, "")


def test_the_quick_start_runs_as_written(tmp_path: Path) -> None:
    found = blocks(ROOT / "docs" / "quickstart.md")
    assert [b.how for b in found].count("background") == 1
    port = free_port()
    result = run(tmp_path, script(found, port), port)
    out = result.stdout
    assert result.returncode == 0, out
    ran = [n for n, b in enumerate(found, 1) if b.how != "skip"]
    assert re.findall(r"^### block (\d+)$", out, re.M) == [str(n) for n in ran]
    assert '{"active":false}' in out  # the revoked token, introspected
    assert re.search(r"state\s+.*revoked", out), out
    assert "HTTP/1.1 204" in out  # global token revocation


def served(port: int) -> str:
    """What the README's set-up and credentials say, for the docs that assume them: `./dev
    serve` with fixed admin credentials (as docs/quickstart.md shows), exported for the CLI."""
    return "\n".join([
        f"export TOKENREVOKE_ADMIN_CLIENT_ID={ADMIN_ID}",
        f"export TOKENREVOKE_ADMIN_CLIENT_SECRET={ADMIN_SECRET}",
        "./dev serve > server.log 2>&1 &",
        "SERVER_PID=$!",
        wait_for(port),
        f"export TOKENREVOKE_CLIENT_ID={ADMIN_ID} TOKENREVOKE_CLIENT_SECRET={ADMIN_SECRET}",
        f"export TOKENREVOKE_URL=http://127.0.0.1:{port}",
    ])  # fmt: skip


def test_the_readme_runs_as_written(tmp_path: Path) -> None:
    """The README's set-up blocks are the suite itself and the credentials `serve` prints;
    the session starts by doing what they say (`served`)."""
    found = blocks(ROOT / "README.md")
    assert [b.how for b in found][:2] == ["skip", "skip"]
    port = free_port()
    result = run(tmp_path, script(found, port, served(port)), port)
    assert result.returncode == 0, result.stdout
    assert "HTTP/1.1 200" in result.stdout  # the revocation


def test_the_cli_examples_run_as_written(tmp_path: Path) -> None:
    """docs/cli.md's examples, with `tokenrevoke` as cli.md says: the virtual environment
    activated (its bin first on PATH). Its blocks make what they use (a client, a user,
    tokens, files, a profile, a script, a new admin secret); only what cannot run here is
    skipped."""
    found = blocks(ROOT / "docs" / "cli.md")
    assert [b.how for b in found].count("skip") <= 4, [b.reason for b in found]
    port = free_port()
    prelude = served(port) + f'\nexport PATH="{ROOT / ".venv" / "bin"}:$PATH"'
    result = run(tmp_path, script(found, port, prelude), port)
    out = result.stdout
    assert result.returncode == 0, out
    ran = [n for n, b in enumerate(found, 1) if b.how != "skip"]
    assert re.findall(r"^### block (\d+)$", out, re.M) == [str(n) for n in ran]
    assert re.search(r"revoked [1-9]\d* tokens of client backend; 0 live left", out), out
    assert "allowAllValueForRevokeEndpoint = true" in out
    assert "deleted client svc-01" in out and "added script block-one" in out
    assert "REVOKE_TOKEN disabled" in out and "REVOKE_TOKEN enabled" in out
