"""The documentation is generated from the provider's own schema and example files, and
must not drift from them (`tools/gen_terraform_docs.py --check`)."""

from __future__ import annotations

import dataclasses
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from terraform_provider_jans.resources.token_revocation import TokenRevocation

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "gen_terraform_docs.py"
DOCS = ROOT / "terraform" / "docs"
SEED = ROOT.parent / "shared" / "spec" / "terraform-jans_token_revocation.md"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_terraform_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_docs_are_up_to_date() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, f"docs drifted from the schema:\n{result.stderr}"
    expected = {
        "index.md", "resources/token_revocation.md", "resources/app_configuration.md",
        "resources/user_token_revocation.md",
        "data-sources/tokens.md", "data-sources/feature_flags.md",
    }  # fmt: skip
    assert {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")} == expected


def test_a_schema_change_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    generator = load_generator()
    before = generator.render_all()
    changed = dataclasses.replace(
        TokenRevocation.SCHEMA.attribute("triggers"), description="Something else"
    )
    schema = dataclasses.replace(
        TokenRevocation.SCHEMA,
        attributes=tuple(
            changed if a.name == "triggers" else a for a in TokenRevocation.SCHEMA.attributes
        ),
    )
    monkeypatch.setattr(TokenRevocation, "SCHEMA", schema)
    after = generator.render_all()
    page = DOCS / "resources" / "token_revocation.md"
    assert before[page] != after[page]
    assert "- `triggers` (Map of String) Something else" in after[page]


def test_token_revocation_page_carries_the_seed_page() -> None:
    page = (DOCS / "resources" / "token_revocation.md").read_text()
    seed = SEED.read_text() if SEED.exists() else ""
    for heading in ("# jans_token_revocation (Resource)", "## Example Usage",
                    "### Basic Token Revocation", "### Token Rotation Scenario",
                    "### Complete Configuration Example", "## OAuth Scopes Required",
                    "## Known Issues", "## Schema", "### Required", "### Optional",
                    "### Read-Only"):  # fmt: skip
        assert heading in page
        assert not seed or heading in seed
    assert "- `https://jans.io/oauth/config/token.delete`" in page
    assert "- `token_code` (String, Sensitive) Token code to revoke" in page
    triggers = "Map of values which should trigger a token revocation when changed"
    assert f"- `triggers` (Map of String) {triggers}" in page
    assert "- `id` (String) The ID of this resource" in page
    assert "404 is reported as a warning" in page
    assert "description: |-\n  Resource for revoking OAuth tokens." in page
    # The seed's example blocks are there verbatim (the complete one with the for_each fix).
    if seed:
        blocks = seed.split("```terraform\n")[1:]
        for block in blocks[:2]:
            body = block.split("```")[0]
            normalized = "\n".join(line.rstrip() for line in body.splitlines())
            assert normalized in page
