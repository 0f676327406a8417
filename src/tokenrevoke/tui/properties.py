"""Auth Server -> Properties: every property in a table, editable, and the feature flags as
one toggle each: the ones tokenrevoke implements first, then Janssen's others (no effect)."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Group
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable, Label, Static

from tokenrevoke.apiclient import ApiClientError
from tokenrevoke.model.config import (
    IMPLEMENTED_FLAGS,
    PROPERTIES,
    FeatureFlag,
    FlagState,
    flag_states,
    flags_on,
    toggle_flag,
)
from tokenrevoke.model.janssen_properties import JANSSEN_PROPERTIES
from tokenrevoke.tui.common import Context, FitTable, call, cell, compact, pretty
from tokenrevoke.tui.dialogs import EditPropertyDialog

# Implemented first, so REVOKE_TOKEN is the first toggle the focus reaches.
FLAG_ORDER = tuple(state.flag for state in flag_states([]))


class FlagToggle(Widget, can_focus=True):
    """One feature flag: its state as a word in a box ("on"/"off"; green/red when the flag
    is implemented here, grey when it has no effect here), then its name. Space, Enter or a
    click flips it; the focused one is marked and highlighted."""

    DEFAULT_CSS = """
    FlagToggle {
        height: 1;
        width: 1fr;
    }
    FlagToggle:focus {
        background: $accent;
        color: $text;
        text-style: bold;
    }
    FlagToggle:disabled {
        color: $text-disabled;
    }
    """
    BINDINGS = [
        Binding("space,enter", "flip", "On/off"),
        Binding("down", "step(1)", "Next flag", show=False),
        Binding("up", "step(-1)", "Previous flag", show=False),
        Binding("left", "leave", "Properties", show=False),
    ]

    value: reactive[bool] = reactive(False)

    class Changed(Message):
        """The operator flipped the toggle (never sent when the program sets `value`)."""

        def __init__(self, toggle: FlagToggle) -> None:
            super().__init__()
            self.toggle = toggle

    def __init__(self, flag: FeatureFlag) -> None:
        super().__init__(id=f"flag-{flag.value}", disabled=True)
        self.flag = flag

    @property
    def state(self) -> FlagState:
        return FlagState(self.flag, self.value)

    def render(self) -> Text:
        implemented = self.flag in IMPLEMENTED_FLAGS
        if not implemented:
            box = "white on grey37"
        else:
            box = "bold black on green" if self.value else "bold white on dark_red"
        return Text.assemble(
            "\u25b6 " if self.has_focus else "  ",  # a marker, not only a colour
            (" on  " if self.value else " off ", "" if self.disabled else box),
            " ",
            (self.flag.value, "" if implemented else "italic"),
            no_wrap=True,
            overflow="ellipsis",
        )

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self) -> None:
        if not self.disabled:
            self.action_flip()

    def action_step(self, delta: int) -> None:
        self.query_ancestor(PropertiesView).step_flag(self.flag, delta)

    def action_leave(self) -> None:
        self.query_ancestor(PropertiesView).focus_main()

    def action_flip(self) -> None:
        self.value = not self.value
        self.post_message(self.Changed(self))


class PropertyTable(FitTable):
    """The properties; Right goes over to the feature flags."""

    BINDINGS = [Binding("right", "flags", "Flags", show=False)]

    def action_flags(self) -> None:
        self.query_ancestor(PropertiesView).action_focus_flags()


class PropertiesView(Vertical):
    DEFAULT_CSS = """
    PropertiesView #props-left {
        width: 1fr;
    }
    PropertiesView #props-table {
        height: 1fr;
    }
    PropertiesView #props-detail {
        height: 6;
        border-top: solid $primary 50%;
        padding: 0 1;
    }
    PropertiesView #flags {
        width: 34;
        border-left: solid $primary 50%;
        padding: 0 0 0 1;
    }
    PropertiesView #flags-title, PropertiesView .flags-heading {
        text-style: bold;
        width: 1fr;
    }
    PropertiesView .flags-heading.-janssen {
        margin-top: 1;
        text-style: italic;
        color: $text-muted;
    }
    """
    BINDINGS = [
        Binding("e", "edit", "Edit"),
        Binding("f", "focus_flags", "Flags"),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.properties: dict[str, Any] = {}
        self.loaded = False
        self._flag_lock = asyncio.Lock()
        self._last_flag = FLAG_ORDER[0]

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="props-left"):
                table = PropertyTable(id="props-table", cursor_type="row")
                table.add_column("Property", key="name")
                table.add_column("Value", key="value")
                yield table
                with VerticalScroll(id="props-detail"):
                    yield Static(id="props-value")
            with VerticalScroll(id="flags", can_focus=False):
                yield Label("Feature flags", id="flags-title")
                yield Label("Implemented here:", classes="flags-heading")
                for flag in IMPLEMENTED_FLAGS:
                    yield FlagToggle(flag)
                yield Label("Not implemented (no effect):", classes="flags-heading -janssen")
                for flag in FLAG_ORDER[len(IMPLEMENTED_FLAGS) :]:
                    yield FlagToggle(flag)

    def focus_main(self) -> None:
        self.query_one("#props-table", FitTable).focus()

    def toggle(self, flag: FeatureFlag) -> FlagToggle:
        return self.query_one(f"#flag-{flag.value}", FlagToggle)

    def action_focus_flags(self) -> None:
        self.toggle(self._last_flag).focus()

    def step_flag(self, flag: FeatureFlag, delta: int) -> None:
        """Focus the flag `delta` places from `flag` (the arrows; the ends stay put)."""
        index = FLAG_ORDER.index(flag) + delta
        if 0 <= index < len(FLAG_ORDER):
            self.toggle(FLAG_ORDER[index]).focus()

    @on(FlagToggle.Changed)
    def _toggled(self, event: FlagToggle.Changed) -> None:
        flag = event.toggle.flag
        if event.toggle.value != self.flag_enabled(flag):
            self.set_flag(flag, event.toggle.value)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, FlagToggle):
            self._last_flag = event.widget.flag

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
        table = self.query_one("#props-table", FitTable)
        # The server leaves unset properties out; the ones we act on are listed anyway.
        names = sorted(set(properties) | set(PROPERTIES))
        if [str(key.value) for key in table.rows] != names:
            table.clear()
            for name in names:
                table.add_row(cell(name), cell(compact(properties.get(name), 60)), key=name)
        else:
            for name in names:
                table.update_cell(name, "value", cell(compact(properties.get(name), 60)))
        self._show_detail()
        self._show_flags()

    def _show_flags(self) -> None:
        on_now = flags_on(self.properties.get("featureFlags") or [])
        for flag in FeatureFlag:
            toggle = self.toggle(flag)
            toggle.disabled = False
            toggle.value = flag in on_now

    def flag_enabled(self, flag: FeatureFlag) -> bool:
        """Whether `featureFlags` turns `flag` on (Janssen's reading; see `FlagState`)."""
        return flag in flags_on(self.properties.get("featureFlags") or [])

    # -- the detail of the highlighted property -------------------------------------------
    def selected(self) -> str | None:
        table = self.query_one("#props-table", FitTable)
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
            state = FlagState(flag, enabled).state
            self.ctx.report.info(f"{flag.value} {state}; featureFlags = {compact(flags, 50)}")
