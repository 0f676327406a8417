"""Fixtures for the Terraform provider tests: the provider installed into a filesystem
mirror (once per session), a CLI configuration pointing Terraform at it (no dev_overrides),
a server per test module with an admin helper and a recording proxy, and workspaces."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import Server
from tests.terraform.support import (
    PROVIDER_SCOPES,
    Admin,
    ApiClient,
    RecordingProxy,
    Workspace,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "terraform_bench: a Terraform measurement (runs in CI; reports a figure)"
    )


@dataclass(frozen=True)
class Mirror:
    directory: Path
    cli_config: Path


@pytest.fixture(scope="session")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Mirror:
    """`terraform-provider-jans install --dir MIRROR --cli-config FILE`, as a user would."""
    root = tmp_path_factory.mktemp("tf-mirror")
    directory, cli_config = root / "mirror", root / "cli.tfrc"
    result = subprocess.run(
        [sys.executable, "-m", "terraform_provider_jans.main", "install", "--dir",
         str(directory), "--cli-config", str(cli_config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "dev_overrides" not in cli_config.read_text()
    return Mirror(directory, cli_config)


def terraform_env(mirror: Mirror, home: Path) -> dict[str, str | None]:
    return {
        "TF_CLI_CONFIG_FILE": str(mirror.cli_config),
        "CHECKPOINT_DISABLE": "1",  # no version check over the network
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "TF_LOG": None,
        "TF_PLUGIN_CACHE_DIR": None,
        "HOME": str(home),
        "JANS_URL": None,
        "JANS_CLIENT_ID": None,
        "JANS_CLIENT_SECRET": None,
        "JANS_INSECURE_CLIENT": None,
        "JANS_CA_CERTIFICATE": None,
        "JANS_REQUEST_TIMEOUT": None,
        "JANS_MAX_RETRIES": None,
    }


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[Admin]:
    helper = Admin(server)
    yield helper
    helper.close()


@pytest.fixture(scope="module")
def provider_client(admin: Admin) -> ApiClient:
    """The client Terraform authenticates as: the four scopes the provider uses."""
    return admin.create_client(PROVIDER_SCOPES, name="terraform")


@pytest.fixture(scope="module")
def proxy(server: Server) -> Iterator[RecordingProxy]:
    recorder = RecordingProxy(server.url)
    yield recorder
    recorder.close()


WorkspaceFactory = Callable[..., Workspace]


@pytest.fixture
def workspace(
    tmp_path: Path, mirror: Mirror, proxy: RecordingProxy, provider_client: ApiClient
) -> WorkspaceFactory:
    """A fresh Terraform directory; the provider reaches the server through the recording
    proxy and is configured by environment (JANS_URL, JANS_CLIENT_ID, ...)."""
    count = 0

    def make(
        url: str | None = None, client: ApiClient | None = None, **env: str | None
    ) -> Workspace:
        nonlocal count
        count += 1
        base = terraform_env(mirror, tmp_path / "home")
        creds = client or provider_client
        base.update({
            "JANS_URL": url or proxy.url,
            "JANS_CLIENT_ID": creds.client_id,
            "JANS_CLIENT_SECRET": creds.secret,
        })  # fmt: skip
        base.update(env)
        return Workspace(tmp_path / f"ws{count}", base)

    return make
