"""The provider's schemas as JSON, in the shape of `terraform providers schema -json`, for the
documentation generator (`tools/gen_terraform_docs.py`) and for tests that compare what
we document with what Terraform actually loads."""

from __future__ import annotations

from typing import Any

from terraform_provider_jans import SOURCE
from terraform_provider_jans.schema import Attr, Schema


def _attribute(attr: Attr) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": attr.type.type_json(),
        "description": attr.description,
        "description_kind": "markdown",
    }
    for flag in ("required", "optional", "computed", "sensitive"):
        if getattr(attr, flag):
            out[flag] = True
    return out


def block_json(schema: Schema) -> dict[str, Any]:
    return {
        "version": schema.version,
        "block": {
            "attributes": {a.name: _attribute(a) for a in schema.attributes},
            "description": schema.description,
            "description_kind": "markdown",
        },
    }


def schemas() -> tuple[Schema, dict[str, Schema], dict[str, Schema]]:
    from terraform_provider_jans.data_sources import DATA_SOURCES
    from terraform_provider_jans.provider import PROVIDER_SCHEMA, JansProvider
    from terraform_provider_jans.resources import RESOURCES

    prefix = JansProvider().get_model_prefix()
    return (
        PROVIDER_SCHEMA,
        {prefix + r.NAME: r.SCHEMA for r in RESOURCES},
        {prefix + d.NAME: d.SCHEMA for d in DATA_SOURCES},
    )


def schema_json() -> dict[str, Any]:
    provider, resources, data_sources = schemas()
    return {
        "format_version": "1.0",
        "provider_schemas": {
            SOURCE: {
                "provider": block_json(provider),
                "resource_schemas": {k: block_json(v) for k, v in sorted(resources.items())},
                "data_source_schemas": {k: block_json(v) for k, v in sorted(data_sources.items())},
            }
        },
    }
