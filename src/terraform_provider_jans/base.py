"""What every resource and data source shares: the provider's client, and JansError turned
into a Terraform diagnostic."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from terraform_provider_jans.client import JansClient, JansError
from terraform_provider_jans.schema import Schema
from terraform_provider_jans.tfbridge import Context, Diagnostics

if TYPE_CHECKING:
    from terraform_provider_jans.provider import JansProvider

T = TypeVar("T")
State = dict[str, Any]


class Model:
    """Common to resources and data sources (tf's AbstractResource protocol)."""

    NAME: ClassVar[str]  # without the provider's "jans_" prefix
    SCHEMA: ClassVar[Schema]

    def __init__(self, provider: JansProvider) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return cls.NAME

    @classmethod
    def get_schema(cls) -> Any:
        return cls.SCHEMA.to_tf()

    def validate(self, diags: Diagnostics, type_name: str, config: dict[str, Any]) -> None:
        """Terraform has already checked the configuration against the schema."""

    def call(self, ctx: Context, operation: Callable[[JansClient], T]) -> T | None:
        """Run `operation` with the client; a JansError becomes an error diagnostic."""
        try:
            return operation(self.provider.client())
        except JansError as exc:
            ctx.diagnostics.add_error(exc.summary, exc.detail)
            return None


class ResourceModel(Model):
    """Defaults of tf's Resource protocol."""

    def plan(self, ctx: Context, current: State | None, planned: State) -> State:
        return planned

    def upgrade(self, ctx: Context, version: int, old: State) -> State:
        return old


class CommandResource(ResourceModel):
    """A command-style resource (like `jans_token_revocation`): it acts on create and on
    every in-place update (its `triggers` changed), reads nothing back, and its destroy
    only forgets the state. Subclasses say what the command is, in `run`."""

    def run(self, ctx: Context, planned: State) -> State | None:
        """Do the command; the new state, or None when it failed (diagnostics say why)."""
        raise NotImplementedError

    def create(self, ctx: Context, planned: State) -> State | None:
        return self.run(ctx, planned)

    def update(self, ctx: Context, current: State, planned: State) -> State | None:
        # Only `triggers` change in place (the other inputs force replacement): run again.
        new = self.run(ctx, planned)
        return new if new is not None else current

    def read(self, ctx: Context, current: State) -> State:
        return current

    def delete(self, ctx: Context, current: State) -> None:
        return None
