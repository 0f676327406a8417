"""Two nodes sharing PostgreSQL publish one Token Status List: indices handed out on both
never collide, and a revocation answered 200 by one node reads INVALID in the list the other
node publishes within its rebuild interval, while the tokens nobody revoked stay VALID."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from tests.scaleout.test_nodes import CONFIG, admin_token, node
from tests.support.server import AUTH, Server
from tokenrevoke.oauth.status_list import INVALID, VALID, StatusList
from tokenrevoke.oauth.status_lists import REBUILD_SECONDS

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, shared_database: str, master_key: str
) -> Iterator[tuple[Server, Server]]:
    a = node(tmp_path_factory.mktemp("status-a"), shared_database, master_key).start()
    b = node(tmp_path_factory.mktemp("status-b"), shared_database, master_key).start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def jwt_client(server: Server) -> tuple[str, str]:
    response = httpx.post(
        f"{server.url}{CONFIG}/openid/clients",
        json={"clientName": "status", "grantTypes": ["client_credentials"],
              "accessTokenAsJwt": True},
        headers={"Authorization": f"Bearer {admin_token(server)}"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return response.json()["inum"], response.json()["clientSecret"]


def published(server: Server, uri: str) -> StatusList:
    """The list as `server` publishes it (the uri names the issuer's path; ask this node)."""
    path = uri[uri.index(f"{AUTH}/status_list") :]
    response = httpx.get(server.url + path, headers={"Accept": "application/statuslist+jwt"})
    assert response.status_code == 200, response.text
    body = jwt.decode(response.text, options={"verify_signature": False})["status_list"]
    return StatusList.decode(body["bits"], body["lst"])


def test_a_revocation_on_one_node_shows_in_the_other_nodes_list(
    nodes: tuple[Server, Server],
) -> None:
    a, b = nodes
    client = jwt_client(a)
    tokens: list[str] = []
    for n in range(80):  # issued on both nodes, interleaved
        issuer = (a, b)[n % 2]
        response = httpx.post(f"{issuer.url}{AUTH}/token", auth=client,
                              data={"grant_type": "client_credentials"})  # fmt: skip
        assert response.status_code == 200, response.text
        tokens.append(response.json()["access_token"])
    refs = [
        jwt.decode(t, options={"verify_signature": False})["status"]["status_list"] for t in tokens
    ]
    # Each node names itself in `uri` (its issuer here is its own address); the list is one.
    lists = {r["uri"].rsplit("/", 1)[1] for r in refs}
    assert len(lists) == 1, lists
    assert len({r["idx"] for r in refs}) == len(refs), "an index handed out twice"
    uri = refs[0]["uri"]
    rng = random.Random(10)
    revoked: set[int] = set()
    for revoker, reader in ((a, b), (b, a)):
        chosen = set(rng.sample(sorted(set(range(len(tokens))) - revoked), 15))
        for n in chosen:
            response = httpx.post(f"{revoker.url}{AUTH}/revoke", auth=client,
                                  data={"token": tokens[n]})  # fmt: skip
            assert response.status_code == 200, response.text
        revoked |= chosen
        deadline = time.monotonic() + REBUILD_SECONDS + 2
        while True:
            listed = published(reader, uri)
            statuses = [listed.get(r["idx"]) for r in refs]
            if all(statuses[n] == INVALID for n in revoked) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [n for n in range(len(tokens)) if statuses[n] == INVALID] == sorted(revoked)
        assert all(statuses[n] == VALID for n in range(len(tokens)) if n not in revoked)
