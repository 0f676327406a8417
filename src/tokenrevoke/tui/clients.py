"""Clients: the registered OAuth clients, and the details of one."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Label, Static

from tokenrevoke.apiclient import ApiClientError
from tokenrevoke.tui.common import Context, FitTable, call, cell, pretty

COLUMNS = (
    ("Inum", "inum"),
    ("Name", "name"),
    ("Auth method", "method"),
    ("Grant types", "grants"),
    ("Disabled", "disabled"),
    ("Scopes", "scopes"),
)


def scope_names(client: dict[str, Any], ids_by_dn: dict[str, str]) -> list[str]:
    """The client's scopes by id (the server lists them by DN, as Janssen's does); a DN
    stays a DN where the scopes could not be read."""
    return [ids_by_dn.get(str(s), str(s)) for s in client.get("scopes") or []]


def row_of(client: dict[str, Any], ids_by_dn: dict[str, str]) -> tuple[Text, ...]:
    disabled = bool(client.get("disabled"))
    return (
        cell(client.get("inum"), 14),
        cell(client.get("clientName") or client.get("displayName"), 30),
        cell(client.get("tokenEndpointAuthMethod")),
        cell(", ".join(str(g) for g in client.get("grantTypes") or [])),
        cell("yes", style="bold red") if disabled else cell("no"),
        cell(" ".join(scope_names(client, ids_by_dn)), 40),
    )


class ClientsView(Vertical):
    DEFAULT_CSS = """
    ClientsView #filter-bar {
        height: 1;
    }
    ClientsView #filter-bar Label {
        padding: 0 1;
        background: $primary 40%;
    }
    ClientsView #client-filter {
        width: 1fr;
    }
    ClientsView #clients-table {
        height: 1fr;
    }
    ClientsView #client-detail {
        height: 40%;
        border-top: solid $primary 50%;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("i", "inspect", "Details"),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.clients: dict[str, dict[str, Any]] = {}
        self.scope_ids: dict[str, str] = {}  # scope DN -> id
        self.loaded = False
        self.pattern = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="filter-bar"):
            yield Label("Filter")
            yield Input(placeholder="name or inum", id="client-filter", compact=True)
        table: DataTable[Text] = FitTable(id="clients-table", cursor_type="row")
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        yield table
        with VerticalScroll(id="client-detail"):
            yield Static(id="client-json")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide the table's keys while typing in the search box (they type there)."""
        if action in ("inspect") and isinstance(self.app.focused, Input):
            return None
        return True

    def focus_main(self) -> None:
        self.query_one("#clients-table", DataTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#client-filter", Input).focus()

    @on(Input.Submitted, "#client-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        self.pattern = event.value.strip()
        self.load()
        self.focus_main()

    @work(exclusive=True, group="clients-load")
    async def load(self) -> None:
        try:
            page = await call(self.ctx.api.list_clients, self.pattern)
        except ApiClientError as exc:
            self.ctx.report.error(exc)
            return
        try:
            self.scope_ids = await call(self.ctx.api.scope_ids_by_dn)
        except ApiClientError:  # no scopes.readonly: scopes are shown by DN
            self.scope_ids = {}
        self.loaded = True
        entries = [c for c in page.get("entries", []) if isinstance(c, dict)]
        self.clients = {str(c.get("inum")): c for c in entries}
        table = self.query_one("#clients-table", DataTable)
        table.clear()
        for inum, client in self.clients.items():
            table.add_row(*row_of(client, self.scope_ids), key=inum)
        self._show_detail()
        self.ctx.report.info(f"{page.get('totalEntriesCount', len(entries))} client(s)")

    def selected(self) -> dict[str, Any] | None:
        table = self.query_one("#clients-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.clients.get(str(key.value))

    @on(DataTable.RowHighlighted, "#clients-table")
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        client = self.selected()
        self.query_one("#client-json", Static).update(
            "No client selected." if client is None else pretty(client)
        )

    @on(DataTable.RowSelected, "#clients-table")
    def _selected(self) -> None:
        self.action_inspect()

    def action_inspect(self) -> None:
        client = self.selected()
        if client is not None:
            self.fetch(str(client.get("inum")))

    @work(group="clients-get")
    async def fetch(self, inum: str) -> None:
        try:
            client = await call(self.ctx.api.get_client, inum)
        except ApiClientError as exc:
            self.ctx.report.error(exc)
            return
        self.clients[inum] = client
        table = self.query_one("#clients-table", DataTable)
        for (_, column), value in zip(COLUMNS, row_of(client, self.scope_ids), strict=True):
            table.update_cell(inum, column, value)
        self._show_detail()
