"""Revoke Token interception scripts (docs/scripts.md) for the integration tests, written as
for Janssen."""

from __future__ import annotations

import textwrap


def script_source(revoke_body: str) -> str:
    """A script whose revoke() runs `revoke_body` (indented for you)."""
    return (
        "from io.jans.model.custom.script.type.revoke import RevokeTokenType\n\n"
        "class RevokeToken(RevokeTokenType):\n"
        "    def getApiVersion(self):\n"
        "        return 11\n\n"
        "    def revoke(self, context):\n" + textwrap.indent(textwrap.dedent(revoke_body), " " * 8)
    )


ALLOW_SCRIPT = script_source("return True\n")  # lets every revocation through
