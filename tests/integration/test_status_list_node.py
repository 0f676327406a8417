"""An independent implementation agrees with ours: @sd-jwt/jwt-status-list (Node) decodes a
real server's Status List Token, after random revocations, and reports for every index of
the list the status we published (revoked: INVALID, the rest VALID), and for each access
token the status its own `status` claim points at. Node's crypto checks the signature.

The packages come from tests/node/package-lock.json, as for test_node_clients.py (skipped
without node and npm, except under TOKENREVOKE_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import time
from typing import Any

import httpx
import jwt

from tests.integration.test_node_clients import NODE_DIR, node_home
from tests.support.server import AUTH, Server
from tokenrevoke.oauth.status_list import INVALID, VALID, StatusList
from tokenrevoke.oauth.status_lists import REBUILD_SECONDS


def test_sd_jwt_status_list_reads_what_we_publish(server: Server) -> None:
    home = node_home()
    shutil.copyfile(NODE_DIR / "status_list.mjs", home / "status_list.mjs")
    client = server.create_client("--grant-type", "client_credentials", "--access-token-as-jwt")
    tokens = [server.fetch_token(client)["access_token"] for _ in range(60)]
    rng = random.Random(25)
    revoked = set(rng.sample(range(len(tokens)), 17))
    for n in sorted(revoked):
        assert server.send_revoke(client, token=tokens[n]).status_code == 200
    refs = [
        jwt.decode(t, options={"verify_signature": False})["status"]["status_list"] for t in tokens
    ]
    uris = {r["uri"] for r in refs}
    assert len(uris) == 1, "issued within one list period"
    time.sleep(REBUILD_SECONDS)  # a build from before the last revocation has expired
    list_jwt = httpx.get(uris.pop(), headers={"Accept": "application/statuslist+jwt"}).text
    plan = {"list_jwt": list_jwt, "jwks": server.session.get(f"{AUTH}/jwks").json(),
            "access_tokens": tokens}  # fmt: skip
    done = subprocess.run(["node", "status_list.mjs", json.dumps(plan)], cwd=home,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, f"node failed:\n{done.stdout}\n{done.stderr}"
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["verified"] is True and report["typ"] == "statuslist+jwt"
    assert report["sub"] == refs[0]["uri"]
    # Every token: the status Node reads at its index is ours.
    for n, (ref, read) in enumerate(zip(refs, report["tokens"], strict=True)):
        assert (read["idx"], read["uri"]) == (ref["idx"], ref["uri"])
        assert read["status"] == (INVALID if n in revoked else VALID), n
    # Every index of the list: Node's reading equals ours, and only revoked tokens' are set.
    claims = jwt.decode(list_jwt, options={"verify_signature": False})
    ours = StatusList.decode(claims["status_list"]["bits"], claims["status_list"]["lst"])
    assert report["bits"] == ours.bits and len(report["statuses"]) == ours.size
    assert report["statuses"] == [ours.get(i) for i in range(ours.size)]
    invalid = {i for i, s in enumerate(report["statuses"]) if s != VALID}
    assert invalid == {refs[n]["idx"] for n in revoked}
