"""Installation: `terraform-provider-jans install` lays out an unpacked filesystem mirror; by
default in the implied local mirror `~/.terraform.d/plugins`, where a plain `terraform init`
finds it offline, with no CLI configuration at all (and no dev_overrides), and writes the
dependency lock file. Terraform then runs the plugin and sees the schema we document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from terraform_provider_jans import VERSION
from terraform_provider_jans.docs import schema_json
from terraform_provider_jans.install import os_arch
from tests.terraform.support import REQUIRED_PROVIDERS, Workspace


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "terraform_provider_jans.main", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(home)},
    )  # fmt: skip


def test_install_default_is_the_implied_local_mirror_and_init_finds_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    installed = run_cli("install", home=home)
    assert installed.returncode == 0, installed.stderr
    executable = (home / ".terraform.d/plugins/registry.terraform.io/jans/jans" / VERSION
                  / os_arch() / f"terraform-provider-jans_v{VERSION}")  # fmt: skip
    assert f"Installed registry.terraform.io/jans/jans {VERSION}" in installed.stdout
    assert str(executable) in installed.stdout
    assert "implied local mirror" in installed.stdout
    assert os.access(executable, os.X_OK)
    assert f"{sys.executable} -I -m terraform_provider_jans.main" in executable.read_text()

    # A fresh directory, `source = "jans/jans"`, no CLI configuration whatsoever.
    ws = Workspace(tmp_path / "project", {
        "HOME": str(home), "TF_CLI_CONFIG_FILE": None, "TERRAFORM_CONFIG": None,
        "CHECKPOINT_DISABLE": "1", "TF_PLUGIN_CACHE_DIR": None,
    })  # fmt: skip
    ws.write("main.tf", REQUIRED_PROVIDERS + 'provider "jans" {\n  url = "http://127.0.0.1:1"\n}\n')
    init = ws.init()
    assert f"Installing jans/jans v{VERSION}" in init.output
    assert "Terraform has been successfully initialized!" in init.output
    lock = (ws.path / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/jans/jans"' in lock
    assert f'version = "{VERSION}"' in lock
    assert '"h1:' in lock

    # Terraform starts the plugin and gets exactly the schema the docs are generated from.
    shown = ws.command("providers schema", "-json")
    theirs = json.loads(shown.output[shown.output.index("{") :])["provider_schemas"]
    ours = schema_json()["provider_schemas"]
    assert set(theirs) == set(ours) == {"registry.terraform.io/jans/jans"}
    for kind in ("resource_schemas", "data_source_schemas"):
        got = theirs["registry.terraform.io/jans/jans"][kind]
        want = ours["registry.terraform.io/jans/jans"][kind]
        assert set(got) == set(want)
        for name in want:
            assert got[name]["block"]["attributes"] == want[name]["block"]["attributes"], name
    got_provider = theirs["registry.terraform.io/jans/jans"]["provider"]["block"]["attributes"]
    want_provider = ours["registry.terraform.io/jans/jans"]["provider"]["block"]["attributes"]
    assert got_provider == want_provider
    token_code = theirs["registry.terraform.io/jans/jans"]["resource_schemas"][
        "jans_token_revocation"]["block"]["attributes"]["token_code"]  # fmt: skip
    assert token_code["sensitive"] is True and token_code["required"] is True


def test_install_elsewhere_prints_the_cli_configuration(tmp_path: Path) -> None:
    result = run_cli("install", "--dir", str(tmp_path / "mirror"), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "filesystem_mirror" in result.stdout
    assert f'path    = "{tmp_path / "mirror"}"' in result.stdout
    assert "dev_overrides" not in result.stdout


def test_plain_run_explains_itself(tmp_path: Path) -> None:
    result = run_cli(home=tmp_path)
    assert result.returncode == 1
    assert "This is a Terraform plugin" in result.stderr
    assert run_cli("version", home=tmp_path).stdout.strip() == VERSION
