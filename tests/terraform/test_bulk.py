"""1,000 token revocations with `for_each` in one apply: a measurement (wall time of the
apply and of the following no-change plan), reported, not asserted. The figures are
printed and written to bench/results/terraform-bulk.json (git-ignored)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.support.server import Server
from tests.terraform.conftest import WorkspaceFactory
from tests.terraform.support import Admin

COUNT = int(os.environ.get("TF_BULK_COUNT", "1000"))
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "terraform-bulk.json"

CONFIG = """
terraform {
  required_providers {
    jans = {
      source = "jans/jans"
    }
  }
}

provider "jans" {}

variable "tokens_to_revoke" {
  type      = list(string)
  sensitive = true
}

resource "jans_token_revocation" "bulk" {
  for_each = nonsensitive({ for token in var.tokens_to_revoke : sha256(token) => token })

  token_code = each.value

  triggers = {
    reason = "incident-42"
  }
}
"""


@pytest.mark.terraform_bench
def test_revoke_1000_tokens_with_for_each(
    workspace: WorkspaceFactory, admin: Admin, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = admin.create_client(["openid"], name="bulk-victim")
    tokens = [admin.client_credentials(victim) for _ in range(COUNT)]
    ws = workspace(url=server.url)  # straight to the server, no recording proxy
    ws.write("main.tf", CONFIG).set_vars(tokens_to_revoke=tokens)
    ws.init()
    audit_before = admin.audit_count()

    started = time.monotonic()
    applied = ws.apply()
    apply_seconds = time.monotonic() - started
    assert f"Apply complete! Resources: {COUNT} added" in applied.output
    assert admin.audit_count() - audit_before == COUNT  # one revocation record per token
    assert not any(admin.active(t) for t in tokens[:: max(1, COUNT // 50)])
    assert all(t not in applied.output for t in tokens[:20])

    started = time.monotonic()
    plan = ws.plan()
    plan_seconds = time.monotonic() - started
    assert "No changes." in plan.output

    figures = {
        "resources": COUNT,
        "apply_seconds": round(apply_seconds, 1),
        "noop_plan_seconds": round(plan_seconds, 1),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    with capsys.disabled():
        print(f"\n[terraform bulk] {json.dumps(figures)}")
