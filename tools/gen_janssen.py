#!/usr/bin/env python3
"""Generate what this repository takes from Janssen's OpenAPI documents (../shared/janssen/).

The server must not read ../shared at run time, so what it needs is generated and committed:

- src/tokenrevoke/model/janssen_properties.py: every property of the config API's
  `AppConfiguration` schema, with its type (references resolved, descriptions dropped);
- docs/configuration.md, between the `janssen-properties` markers: the properties that are
  accepted and kept but have no effect here;
- docs/janssen-compatibility.md, between the `janssen-operations` markers: every operation of
  both documents and whether we serve it.

`--check` exits 1 when a committed file differs from what would be generated (tested by
tests/unit/test_janssen_generated.py, so the copies cannot drift from the documents).

    .venv/bin/python tools/gen_janssen.py          # write
    .venv/bin/python tools/gen_janssen.py --check  # verify
"""

from __future__ import annotations

import argparse
import pprint
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tokenrevoke.model.config import PROPERTIES  # noqa: E402
from tokenrevoke.web.configapi_app import OPERATIONS  # noqa: E402

SHARED = ROOT.parent / "shared" / "janssen"
CONFIG_DOC = SHARED / "jans-config-api-swagger.yaml"
AUTH_DOC = SHARED / "jans-auth-server-swagger.yaml"
MODULE = ROOT / "src" / "tokenrevoke" / "model" / "janssen_properties.py"
CONFIGURATION_MD = ROOT / "docs" / "configuration.md"
COMPATIBILITY_MD = ROOT / "docs" / "janssen-compatibility.md"

# The schema keywords that say what a value may be; the rest (descriptions, xml, required,
# uniqueItems: Janssen's Java setters neither require members nor refuse duplicates) is
# dropped.
_KEPT = ("type", "format", "enum")

# Auth-server operations we serve (operationId -> note; "" = served as described).
AUTH_SERVED = {
    "post-token": "grants: authorization_code, client_credentials, password, refresh_token",
    "get_authorize": "response_type=code only, PKCE S256 (docs/sign-in.md)",
    "post_authorize": "response_type=code only, PKCE S256 (docs/sign-in.md)",
    "get-userinfo": "JSON claims (no signed or encrypted responses)",
    "post-userinfo": "JSON claims (no signed or encrypted responses)",
    "well-known-gluu-configuration": "as GET (the swagger's POST is a copy error)",
    "revoke": "",
    "post-introspection": "",
    "get-introspection": "",
    "global-token-revocation": "",
    "jwks": "",
    "get-status-list": "lists sharded by time, each at /status_list/{id}; here the current one",
    "get-status-list-aggregation": "gated by STATUS_LIST, as the lists are",
    "end_session": "POST too; without id_token_hint the user confirms on a page first",
}
AUTH_WHY_NOT = (
    "not served: tokenrevoke is a token and revocation server, not a full OpenID provider"
)
# Config-API operations served with a documented difference (operationId -> difference).
CONFIG_DIFFERENCES = {
    "get-attributes": "always an empty page: no attribute schema is kept",
    "get-plugins": "an empty list: no config-API plugins are deployed",
    "get-plugin-by-name": "always false: no config-API plugins are deployed",
    "get-acrs": "an empty object: no authentication methods, so no default ACR",
    "get-properties-persistence": "describes our store (SQLite or PostgreSQL)",
    "get-app-version": "the tokenrevoke version",
    "get-server-stat": "needs a token (app-version.readonly, health.admin, read-all): host figures",
    "put-config-logging": "loggingLevel sets the server's log level; the rest is kept",
    "patch-properties": "properties without effect here are kept (docs/configuration.md)",
    "get-config-jwks": "the public signing keys only (no private or encryption keys)",
    "search-session": "one user's sessions: fieldValuePair=userDn=... is required",
    "revoke-user-session": "userDn, inum or uid; every token issued in the sessions is revoked",
    "delete-session": "every token issued in the session is revoked",
}
CONFIG_WHY_NOT = "not served: no such feature here"


def _resolve(schema: dict[str, Any], schemas: dict[str, Any], seen: frozenset[str]) -> Any:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:  # a recursive schema: any value below this point
            return {}
        return _resolve(schemas[name], schemas, seen | {name})
    out: dict[str, Any] = {k: schema[k] for k in _KEPT if k in schema}
    if "items" in schema:
        out["items"] = _resolve(schema["items"], schemas, seen)
    if "properties" in schema:
        out["properties"] = {
            name: _resolve(sub, schemas, seen) for name, sub in schema["properties"].items()
        }
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = _resolve(schema["additionalProperties"], schemas, seen)
    return out


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    assert isinstance(doc, dict)
    return doc


def property_specs(config_doc: dict[str, Any]) -> dict[str, Any]:
    """name -> type spec of every AppConfiguration property, in the document's order."""
    schemas = config_doc["components"]["schemas"]
    props = schemas["AppConfiguration"]["properties"]
    return {
        name: _resolve(spec, schemas, frozenset({"AppConfiguration"}))
        for name, spec in props.items()
    }


def module_text(specs: dict[str, Any]) -> str:
    body = pprint.pformat(specs, width=96, sort_dicts=False)
    return (
        '"""Janssen\'s AppConfiguration properties and their types. GENERATED by\n'
        "tools/gen_janssen.py from jans-config-api-swagger.yaml: do not edit.\n\n"
        "Each spec is a subset of JSON Schema: type, format, enum, items, properties,\n"
        'additionalProperties; `{}` is any JSON value."""\n\n'
        "from typing import Any\n\n"
        f"JANSSEN_PROPERTIES: dict[str, Any] = {body}\n"
    )


def no_effect_section(specs: dict[str, Any]) -> str:
    names = sorted(name for name in specs if name not in PROPERTIES)
    return "\n".join(f"`{name}`" for name in names) + "\n"


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                out.append((op["operationId"], method.upper(), path))
    return out


def operations_section(config_doc: dict[str, Any], auth_doc: dict[str, Any]) -> str:
    served = {op.operation_id for op in OPERATIONS}
    lines = [
        "| document | operationId | method | path | here |",
        "|---|---|---|---|---|",
    ]
    for op_id, method, path in _operations(config_doc):
        if op_id in CONFIG_DIFFERENCES and op_id in served:
            status = f"served, with a difference: {CONFIG_DIFFERENCES[op_id]}"
        elif op_id in served:
            status = "served"
        else:
            status = CONFIG_WHY_NOT
        lines.append(f"| config API | `{op_id}` | {method} | `{path}` | {status} |")
    for op_id, method, path in _operations(auth_doc):
        if op_id in AUTH_SERVED:
            note = AUTH_SERVED[op_id]
            status = f"served, with a difference: {note}" if note else "served"
        else:
            status = AUTH_WHY_NOT
        lines.append(f"| auth server | `{op_id}` | {method} | `{path}` | {status} |")
    return "\n".join(lines) + "\n"


def replace_between(text: str, marker: str, content: str) -> str:
    begin, end = f"<!-- BEGIN {marker} (generated) -->\n", f"<!-- END {marker} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"markers for {marker} are missing")
    return pattern.sub(lambda _: begin + content + end, text)


def generated() -> dict[Path, str]:
    """Every generated file's full text (markdown sections spliced into the current file)."""
    config_doc, auth_doc = load(CONFIG_DOC), load(AUTH_DOC)
    specs = property_specs(config_doc)
    return {
        MODULE: module_text(specs),
        CONFIGURATION_MD: replace_between(
            CONFIGURATION_MD.read_text(), "janssen-properties", no_effect_section(specs)
        ),
        COMPATIBILITY_MD: replace_between(
            COMPATIBILITY_MD.read_text(),
            "janssen-operations",
            operations_section(config_doc, auth_doc),
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify instead of writing")
    args = parser.parse_args()
    stale = []
    for path, text in generated().items():
        if path == MODULE and path.exists():
            # The module is formatted by ruff after writing: compare its data, not its text.
            namespace: dict[str, Any] = {}
            exec(compile(text, str(path), "exec"), namespace)  # noqa: S102 (our own output)
            current: dict[str, Any] = {}
            exec(compile(path.read_text(), str(path), "exec"), current)  # noqa: S102
            same = namespace["JANSSEN_PROPERTIES"] == current["JANSSEN_PROPERTIES"]
        else:
            same = path.exists() and path.read_text() == text
        if same:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text)
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
