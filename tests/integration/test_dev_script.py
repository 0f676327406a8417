"""`./dev` runs where it is called from: every relative path means what it means there."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.support.server import HERMETIC_ENV

DEV = Path(__file__).resolve().parents[2] / "dev"


def dev(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DEV), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **HERMETIC_ENV}, timeout=300)  # fmt: skip


def test_local_command_paths_are_the_callers(tmp_path: Path) -> None:
    (tmp_path / "props.json").write_text(json.dumps({"accessTokenLifetime": 1234}))
    result = dev(tmp_path, "init", "--data-dir", "here-data", "--properties", "props.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "applied 1 properties: accessTokenLifetime" in result.stdout
    assert (tmp_path / "here-data" / "tokenrevoke.db").exists()
    assert not (DEV.parent / "here-data").exists()


def test_test_paths_are_the_callers(tmp_path: Path) -> None:
    (tmp_path / "test_here.py").write_text("def test_here():\n    pass\n")
    result = dev(tmp_path, "test", "test_here.py", "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_a_missing_service_skips_with_its_reason_unless_required(tmp_path: Path) -> None:
    """Without PostgreSQL the tests that need it skip, saying why; where services are
    required (.ci/run), the same tests fail."""
    nowhere = {"TOKENREVOKE_TEST_POSTGRES": "postgresql://postgres@127.0.0.1:1/postgres"}
    args = ["test", "tests/store/test_postgres.py", "-p", "no:cacheprovider"]

    def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(DEV), *args], cwd=DEV.parent, capture_output=True,
                              text=True, env={**os.environ, **HERMETIC_ENV, **env},
                              timeout=300)  # fmt: skip

    relaxed = run({**nowhere, "TOKENREVOKE_REQUIRE_SERVICES": ""})
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    assert "postgres unavailable: PostgreSQL at postgresql://postgres@127.0.0.1:1" in relaxed.stdout
    strict = run({**nowhere, "TOKENREVOKE_REQUIRE_SERVICES": "1"})
    assert strict.returncode != 0
    assert "TOKENREVOKE_REQUIRE_SERVICES=1" in strict.stdout
