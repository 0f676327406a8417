"""What is generated from Janssen's OpenAPI documents (tools/gen_janssen.py) must match
them: the AppConfiguration property types the server validates with, the "accepted, no
effect here" list of docs/configuration.md, and the operations table of
docs/janssen-compatibility.md. Skips (saying why) where ../shared is absent."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from tests.support.janssen import AUTH_SERVER_DOC, CONFIG_API_DOC, janssen_doc
from tokenrevoke.model.config import EXTENSIONS, NO_EFFECT, PROPERTIES
from tokenrevoke.model.janssen_properties import JANSSEN_PROPERTIES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "gen_janssen.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_janssen", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _section(path: Path, marker: str) -> str:
    text = path.read_text()
    found = re.search(
        rf"<!-- BEGIN {marker} \(generated\) -->\n(.*?)<!-- END {marker} -->", text, re.S
    )
    assert found, f"{path.name} lost its {marker} markers"
    return found.group(1)


def test_property_types_match_janssens_document() -> None:
    doc = janssen_doc(CONFIG_API_DOC)
    specs = _generator().property_specs(doc)
    assert specs == JANSSEN_PROPERTIES
    assert list(specs) == list(doc["components"]["schemas"]["AppConfiguration"]["properties"])


def test_no_effect_list_in_the_docs_matches() -> None:
    janssen_doc(CONFIG_API_DOC)  # skip without ../shared, like the rest of this module
    listed = re.findall(
        r"`([^`]+)`", _section(ROOT / "docs" / "configuration.md", "janssen-properties")
    )
    assert listed == sorted(NO_EFFECT)
    # Every Janssen property is either acted on or listed; our own are extensions.
    assert set(JANSSEN_PROPERTIES) == NO_EFFECT | (set(PROPERTIES) - EXTENSIONS)
    assert not EXTENSIONS & set(JANSSEN_PROPERTIES)


def test_operations_table_names_every_operation_of_both_documents() -> None:
    table = _section(ROOT / "docs" / "janssen-compatibility.md", "janssen-operations")
    rows = {
        (m.group(1), m.group(2))
        for m in re.finditer(r"^\| (config API|auth server) \| `([^`]+)` \|", table, re.M)
    }
    for name, label in ((CONFIG_API_DOC, "config API"), (AUTH_SERVER_DOC, "auth server")):
        doc = janssen_doc(name)
        ids = {
            op["operationId"]
            for item in doc["paths"].values()
            for op in item.values()
            if isinstance(op, dict) and "operationId" in op
        }
        missing = {i for i in ids if (label, i) not in rows}
        assert not missing, f"{label} operations missing from the table: {sorted(missing)}"


def test_generated_files_are_up_to_date() -> None:
    janssen_doc(CONFIG_API_DOC)
    janssen_doc(AUTH_SERVER_DOC)
    generator = _generator()
    for path, text in generator.generated().items():
        if path == generator.MODULE:
            continue  # compared as data above (the file is formatted by ruff)
        assert path.read_text() == text, f"{path.name} is stale: run tools/gen_janssen.py"


def test_served_operations_are_marked_served() -> None:
    from tokenrevoke.web.configapi_app import OPERATIONS

    table = _section(ROOT / "docs" / "janssen-compatibility.md", "janssen-operations")
    janssen_ids = {
        op["operationId"]
        for item in janssen_doc(CONFIG_API_DOC)["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    for op in OPERATIONS:
        if op.operation_id in janssen_ids:
            assert re.search(
                rf"^\| config API \| `{re.escape(op.operation_id)}` \|.*\| served", table, re.M
            ), op.operation_id
