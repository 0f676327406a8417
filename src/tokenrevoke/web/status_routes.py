"""The Token Status List endpoints (docs/status-list.md): the lists and their aggregation.

`GET .../status_list` answers the current list, `GET .../status_list/{id}` any list, as a
signed Status List Token (`application/statuslist+jwt`, the default, as Janssen answers) or,
asked with `Accept: application/statuslist+json`, the bare list. Verifiers may cache it for
its `ttl` (Cache-Control says the same); an ETag lets them revalidate for free.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tokenrevoke.model import FeatureFlag
from tokenrevoke.oauth.errors import OAuthError, access_denied
from tokenrevoke.oauth.status_list import STATUSLIST_JSON, STATUSLIST_JWT
from tokenrevoke.oauth.status_lists import list_uri
from tokenrevoke.web.auth_handlers import guarded, runtime_of
from tokenrevoke.web.responses import json_response

# Larger ids than this are no list (and would not fit the store's integers).
_MAX_ID_DIGITS = 15


def _require_flag(request: Request) -> None:
    # Janssen's answer while STATUS_LIST is off (ErrorResponseFactory.validateFeatureEnabled).
    if not runtime_of(request).config().enabled(FeatureFlag.STATUS_LIST):
        raise access_denied("Feature flag is disabled on server.", "STATUS_LIST is off")


def _not_found(what: str) -> OAuthError:
    return OAuthError(404, "not_found", what)


def _wants_json(request: Request) -> bool:
    """Janssen answers JSON only to `Accept: application/statuslist+json`, a JWT otherwise;
    here the first media type listed decides, so that a list of types works too."""
    accept = request.headers.get("accept", "")
    first = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return first == STATUSLIST_JSON


@guarded
async def status_list(request: Request) -> Response:
    _require_flag(request)
    runtime = runtime_of(request)
    raw = request.path_params.get("list_id")
    list_id: int | None = None
    if raw is not None:
        if not raw.isascii() or not raw.isdigit() or len(raw) > _MAX_ID_DIGITS:
            raise _not_found("no such status list")
        list_id = int(raw)
    published = await runtime.status_lists.get(list_id)
    if published is None:
        raise _not_found("no such status list")
    as_json = _wants_json(request)
    etag = published.json_etag if as_json else published.jwt_etag
    headers = {
        "Cache-Control": f"public, max-age={published.ttl}",
        "ETag": etag,
        "Vary": "Accept",
    }
    validators = {
        t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")
    }
    if etag in validators:
        return Response(b"", 304, headers)
    if as_json:
        body = orjson.dumps(published.status_list)
        return Response(body, 200, headers, media_type=STATUSLIST_JSON)
    return Response(published.jwt, 200, headers, media_type=STATUSLIST_JWT)


@guarded
async def status_list_aggregation(request: Request) -> Response:
    """The draft's Status List Aggregation (section 9): every list's URI."""
    _require_flag(request)
    runtime = runtime_of(request)
    cfg = runtime.config()
    uris = [list_uri(cfg, list_id) for list_id in await runtime.status_lists.list_ids()]
    return json_response({"status_lists": uris})
