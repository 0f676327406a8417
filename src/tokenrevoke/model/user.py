"""End users for the password grant."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class User:
    inum: str
    uid: str
    password_hash: str
    email: str | None = None
    display_name: str | None = None
    disabled: bool = False

    @property
    def dn(self) -> str:
        return f"inum={self.inum},ou=people,o=jans"
