"""docs/terraform.md's quick start, as written: its HCL block, run by real Terraform against
a real server, revokes a real token; and the basic example declares its variables (a
configuration of just it and a provider block plans)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.server import Server
from tests.terraform.conftest import WorkspaceFactory
from tests.terraform.support import REQUIRED_PROVIDERS

DOC = Path(__file__).resolve().parents[2] / "docs" / "terraform.md"


def quick_start_hcl() -> str:
    section = DOC.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```hcl\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the quick start has one configuration"
    return "\n".join(line.removeprefix("   ") for line in blocks[0].splitlines())


def test_the_quick_start_configuration_revokes_a_token(
    workspace: WorkspaceFactory, server: Server
) -> None:
    hcl = quick_start_hcl()
    assert 'source = "jans/jans"' in hcl  # else `terraform init` looks for hashicorp/jans
    client = server.create_client("--name", "tf-quickstart")
    token = server.fetch_token(client)["access_token"]
    ws = workspace()
    ws.write("main.tf", hcl).set_vars(compromised_token=token)
    ws.init()
    applied = ws.apply()
    assert "Apply complete! Resources: 1 added" in applied.output, applied.output
    assert not server.is_active(token)


def test_the_basic_example_declares_its_variables(workspace: WorkspaceFactory) -> None:
    ws = workspace()
    ws.copy_example("resources/jans_token_revocation/resource.tf", "main.tf")
    ws.write("provider.tf", REQUIRED_PROVIDERS + '\nprovider "jans" {}\n')
    ws.set_vars(token_to_revoke="a" * 43, compromised_token="b" * 43, security_alert_id="A-1")
    ws.init()
    planned = ws.plan()
    assert "2 to add" in planned.output, planned.output
