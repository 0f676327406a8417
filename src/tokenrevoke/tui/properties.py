"""Auth Server -> Properties: every property in a table, editable, and the feature flags as
one switch each."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Static, Switch

from tokenrevoke.apiclient import ApiClientError
from tokenrevoke.model.config import PROPERTIES, FeatureFlag, toggle_flag
from tokenrevoke.model.janssen_properties import JANSSEN_PROPERTIES
from tokenrevoke.tui.common import Context, call, cell, compact, pretty
from tokenrevoke.tui.dialogs import EditPropertyDialog

KNOWN_FLAGS = frozenset(f.value for f in FeatureFlag)
NAME_WIDTH = 28


def enabled_flags(configured: list[str]) -> frozenset[str]:
    """What the server enables for a `featureFlags` value: the known names listed, or every
    feature when none is (empty list, or only unknown names)."""
    listed = frozenset(name.upper() for name in configured) & KNOWN_FLAGS
    return listed or KNOWN_FLAGS


class FlagSwitch(Switch):
    """A switch whose key shows in the footer."""

    BINDINGS = [Binding("space,enter", "toggle_switch", "On/off")]


class PropertiesView(Vertical):
    DEFAULT_CSS = """
    PropertiesView #props-left {
        width: 1fr;
    }
    PropertiesView #props-table {
        height: 1fr;
        overflow-x: hidden;
    }
    PropertiesView #props-detail {
        height: 6;
        border-top: solid $primary 50%;
        padding: 0 1;
    }
    PropertiesView #flags {
        width: 33;
        border-left: solid $primary 50%;
        padding: 0 0 0 1;
    }
    PropertiesView #flags-title {
        text-style: bold;
        width: 1fr;
    }
    PropertiesView .flag {
        height: 1;
    }
    PropertiesView .flag Switch {
        border: none;
        padding: 0;
        height: 1;
        margin-right: 1;
    }
    PropertiesView .flag Switch:focus {
        background-tint: $foreground 20%;
    }
    PropertiesView .flag Label {
        width: 1fr;
    }
    PropertiesView .flag.-off Label {
        color: $text-muted;
    }
    """
    BINDINGS = [Binding("e", "edit", "Edit")]

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.properties: dict[str, Any] = {}
        self.loaded = False
        self._flag_lock = asyncio.Lock()

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="props-left"):
                table: DataTable[Text] = DataTable(id="props-table", cursor_type="row")
                table.add_column("Property", key="name", width=NAME_WIDTH)
                table.add_column("Value", key="value")
                yield table
                with VerticalScroll(id="props-detail"):
                    yield Static(id="props-value")
            with VerticalScroll(id="flags"):
                yield Label("Feature flags", id="flags-title")
                for flag in FeatureFlag:
                    with Horizontal(classes="flag"):
                        yield FlagSwitch(id=f"flag-{flag.value}", animate=False, disabled=True)
                        yield Label(flag.value)

    def focus_main(self) -> None:
        self.query_one("#props-table", DataTable).focus()

    # -- loading ----------------------------------------------------------------------------
    @work(exclusive=True, group="properties-load")
    async def load(self) -> None:
        try:
            properties = await call(self.ctx.api.get_properties)
        except ApiClientError as exc:
            self.ctx.report.error(exc)
            return
        self.loaded = True
        self.show(properties)
        self.ctx.report.info(f"{len(properties)} properties loaded from {self.ctx.api.url}")

    def show(self, properties: dict[str, Any]) -> None:
        self.properties = dict(properties)
        table = self.query_one("#props-table", DataTable)
        # The server leaves unset properties out; the ones we act on are listed anyway.
        names = sorted(set(properties) | set(PROPERTIES))
        if [str(key.value) for key in table.rows] != names:
            table.clear()
            for name in names:
                value = cell(compact(properties.get(name), 60))
                table.add_row(cell(name, NAME_WIDTH), value, key=name)
        else:
            for name in names:
                table.update_cell(name, "value", cell(compact(properties.get(name), 60)))
        self._show_detail()
        self._show_flags()

    def _show_flags(self) -> None:
        on_now = enabled_flags(list(self.properties.get("featureFlags") or []))
        for flag in FeatureFlag:
            switch = self.query_one(f"#flag-{flag.value}", Switch)
            switch.disabled = False
            with self.prevent(Switch.Changed):
                switch.value = flag.value in on_now
            if switch.parent is not None:
                switch.parent.set_class(not switch.value, "-off")

    def flag_enabled(self, flag: FeatureFlag) -> bool:
        return flag.value in enabled_flags(list(self.properties.get("featureFlags") or []))

    # -- the detail of the highlighted property -------------------------------------------
    def selected(self) -> str | None:
        table = self.query_one("#props-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return None if key.value is None else str(key.value)

    @on(DataTable.RowHighlighted, "#props-table")
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        name = self.selected()
        detail = self.query_one("#props-value", Static)
        if name is None:
            detail.update("")
            return
        if name in PROPERTIES:
            kind, default = PROPERTIES[name]
            about = f"  ({kind}, default {compact(default, 30)})"
        else:  # one of Janssen's, kept without effect here
            about = f"  ({JANSSEN_PROPERTIES.get(name, {}).get('type', '?')}, no effect here)"
        header = Text.assemble((name, "bold"), about)
        detail.update(Group(header, pretty(self.properties.get(name))))

    # -- editing ------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#props-table")
    def _selected(self) -> None:
        self.action_edit()

    def action_edit(self) -> None:
        name = self.selected()
        if name is None:
            return
        self.app.push_screen(
            EditPropertyDialog(self.ctx, name, self.properties.get(name)), self._edited
        )

    def _edited(self, properties: dict[str, Any] | None) -> None:
        if properties is not None:
            self.show(properties)

    # -- feature flags ------------------------------------------------------------------------
    @on(Switch.Changed)
    def _flag_switched(self, event: Switch.Changed) -> None:
        switch_id = event.switch.id or ""
        if not switch_id.startswith("flag-"):
            return
        flag = FeatureFlag(switch_id.removeprefix("flag-"))
        if event.value != self.flag_enabled(flag):
            self.set_flag(flag, event.value)

    @work(group="feature-flags")
    async def set_flag(self, flag: FeatureFlag, enabled: bool) -> None:
        """PATCH `featureFlags` to turn one feature on or off (see `toggle_flag`). One change
        at a time, each computed from the list the server last returned."""
        async with self._flag_lock:
            if self.flag_enabled(flag) == enabled:
                return
            flags = toggle_flag(list(self.properties.get("featureFlags") or []), flag, enabled)
            try:
                properties = await call(self.ctx.api.set_property, "featureFlags", flags)
            except ApiClientError as exc:
                self.ctx.report.error(exc)
                self._show_flags()  # back to what the server has
                return
            self.show(properties)
            state = "enabled" if enabled else "disabled"
            self.ctx.report.info(f"{flag.value} {state}; featureFlags = {compact(flags, 50)}")
