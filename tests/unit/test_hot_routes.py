"""The hot endpoints have one routing table (web/hotpath.HOT): the Starlette app behind
HotPathApp takes its routes for these paths from it, so another method gets 405."""

from __future__ import annotations

from starlette.routing import Match

from tokenrevoke.paths import AUTH
from tokenrevoke.web.hotpath import HOT, starlette_routes


def _match(method: str, path: str) -> list[Match]:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    return [route.matches(scope)[0] for route in starlette_routes()]


def test_every_hot_endpoint_has_its_one_starlette_route() -> None:
    for method, path in HOT:
        assert _match(method, path).count(Match.FULL) == 1, (method, path)
    assert _match("HEAD", f"{AUTH}/introspection").count(Match.FULL) == 1  # with GET


def test_another_method_on_a_hot_path_is_known_to_starlette() -> None:
    for path in {path for _, path in HOT}:
        found = _match("PUT", path)
        assert Match.FULL not in found
        assert found.count(Match.PARTIAL) == 1, path  # 405, not 404
    assert set(_match("POST", f"{AUTH}/jwks")) == {Match.NONE}
