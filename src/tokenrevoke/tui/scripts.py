"""Scripts: the custom (Revoke Token interception) scripts; enable or disable one."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from tokenrevoke.apiclient import ApiClientError
from tokenrevoke.tui.common import Context, FitTable, call, cell, pretty

COLUMNS = (
    ("Name", "name"),
    ("Type", "type"),
    ("Level", "level"),
    ("Enabled", "enabled"),
    ("Inum", "inum"),
)


def row_of(script: dict[str, Any]) -> tuple[Text, ...]:
    enabled = bool(script.get("enabled"))
    return (
        cell(script.get("name")),
        cell(script.get("scriptType")),
        cell(script.get("level")),
        cell("yes", style="bold green") if enabled else cell("no", style="dim"),
        cell(script.get("inum")),
    )


class ScriptsView(Vertical):
    DEFAULT_CSS = """
    ScriptsView #scripts-table {
        height: 1fr;
    }
    ScriptsView #script-detail {
        height: 55%;
        border-top: solid $primary 50%;
        padding: 0 1;
    }
    """
    BINDINGS = [Binding("t,space", "toggle_script", "Enable/disable")]

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.scripts: dict[str, dict[str, Any]] = {}
        self.loaded = False

    def compose(self) -> ComposeResult:
        table: DataTable[Text] = FitTable(id="scripts-table", cursor_type="row")
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        yield table
        with VerticalScroll(id="script-detail"):
            yield Static(id="script-json")

    def focus_main(self) -> None:
        self.query_one("#scripts-table", DataTable).focus()

    @work(exclusive=True, group="scripts-load")
    async def load(self) -> None:
        try:
            page = await call(self.ctx.api.list_scripts)
        except ApiClientError as exc:
            self.ctx.report.error(exc)
            return
        self.loaded = True
        entries = [s for s in page.get("entries", []) if isinstance(s, dict)]
        self.scripts = {str(s.get("inum")): s for s in entries}
        table = self.query_one("#scripts-table", DataTable)
        table.clear()
        for inum, script in self.scripts.items():
            table.add_row(*row_of(script), key=inum)
        self._show_detail()
        self.ctx.report.info(f"{len(entries)} script(s)")

    def selected(self) -> dict[str, Any] | None:
        table = self.query_one("#scripts-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.scripts.get(str(key.value))

    @on(DataTable.RowHighlighted, "#scripts-table")
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        script = self.selected()
        pane = self.query_one("#script-json", Static)
        if script is None:
            pane.update(
                Text("No scripts. Install one with `tokenrevoke script` or the config API.")
            )
            return
        meta = {k: v for k, v in script.items() if k != "script"}
        source = Syntax(str(script.get("script", "")), "python", line_numbers=True)
        pane.update(Group(pretty(meta), Text(""), source))

    def action_toggle_script(self) -> None:
        script = self.selected()
        if script is not None:
            self.set_enabled(str(script.get("inum")), not script.get("enabled"))

    @work(group="scripts-toggle")
    async def set_enabled(self, inum: str, enabled: bool) -> None:
        patch = [{"op": "replace", "path": "/enabled", "value": enabled}]
        try:
            script = await call(self.ctx.api.patch_script, inum, patch)
        except ApiClientError as exc:
            self.ctx.report.error(exc)
            return
        self.scripts[inum] = script
        table = self.query_one("#scripts-table", DataTable)
        for (_, column), value in zip(COLUMNS, row_of(script), strict=True):
            table.update_cell(inum, column, value)
        self._show_detail()
        state = "enabled" if script.get("enabled") else "disabled"
        self.ctx.report.info(f"Script {script.get('name')} {state}")
