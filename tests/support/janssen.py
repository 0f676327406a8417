"""Janssen's own OpenAPI documents, read in place from `../shared/janssen/` (never copied
into this repository). Tests that need them skip with a clear reason where they are absent;
CI lays `shared/` beside the clone, so there they always run."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
JANSSEN_DIR = REPO_ROOT.parent / "shared" / "janssen"
CONFIG_API_DOC = "jans-config-api-swagger.yaml"
AUTH_SERVER_DOC = "jans-auth-server-swagger.yaml"


def janssen_doc_path(name: str) -> Path:
    """The path of one of Janssen's documents, or skip the calling test saying why."""
    path = JANSSEN_DIR / name
    if not path.is_file():
        pytest.skip(f"Janssen's {name} is not at {path} (the shared/ folder beside the clone)")
    return path


@functools.cache
def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    assert isinstance(doc, dict)
    return doc


def janssen_doc(name: str) -> dict[str, Any]:
    """One of Janssen's OpenAPI documents, parsed (cached per process); skips if absent."""
    return _load(janssen_doc_path(name))


def janssen_schema(name: str, schema: str) -> dict[str, Any]:
    """`components.schemas[schema]` of one of Janssen's documents."""
    found = janssen_doc(name)["components"]["schemas"][schema]
    assert isinstance(found, dict)
    return found


def request_examples(name: str, operation_id: str) -> list[Any]:
    """The request-body examples of one operation of one of Janssen's documents, parsed
    (Janssen writes them as JSON text)."""
    import json

    for methods in janssen_doc(name)["paths"].values():
        for operation in methods.values():
            if not isinstance(operation, dict) or operation.get("operationId") != operation_id:
                continue
            out = []
            for media in operation.get("requestBody", {}).get("content", {}).values():
                for example in (media.get("examples") or {}).values():
                    value = example.get("value")
                    out.append(json.loads(value) if isinstance(value, str) else value)
            return out
    raise AssertionError(f"no operation {operation_id} in Janssen's {name}")
