"""Tokens: search, inspect, revoke (with confirmation)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Label, Static

from tokenrevoke.apiclient import ApiClientError
from tokenrevoke.crypto import sha256_hex
from tokenrevoke.tui.common import Context, call, cell, pretty, shorten
from tokenrevoke.tui.dialogs import ConfirmDialog

TOKEN_CODE = re.compile(r"^[0-9a-f]{64}$")
SEARCH_LIMIT = 200


def expired(entry: dict[str, Any]) -> bool:
    text = entry.get("expirationDate")
    if not isinstance(text, str):
        return False
    try:
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return False
    return when.timestamp() <= time.time()


def row_of(entry: dict[str, Any]) -> tuple[Text, ...]:
    kind = str(entry.get("tokenType", "")).removesuffix("_token")
    expiry = str(entry.get("expirationDate") or "").replace("T", " ")[5:16]  # MM-DD HH:MM
    revoked = bool(entry.get("revoked"))
    return (
        cell(entry.get("tokenCode"), 10),
        cell(entry.get("clientId"), 12),
        cell(kind),
        cell(entry.get("grantType")),
        cell(expiry, style="dim" if expired(entry) else ""),
        cell("yes", style="bold red") if revoked else cell("no", style="green"),
    )


COLUMNS = (
    ("Token", "code"),
    ("Client", "client"),
    ("Type", "type"),
    ("Grant type", "grant"),
    ("Expires", "expires"),
    ("Revoked", "revoked"),
)


class TokensView(Vertical):
    DEFAULT_CSS = """
    TokensView #search-bar {
        height: 1;
    }
    TokensView #search-bar Label {
        padding: 0 1;
        background: $primary 40%;
    }
    TokensView #token-search {
        width: 1fr;
    }
    TokensView #tokens-table {
        height: 1fr;
    }
    TokensView #token-detail {
        height: 40%;
        border-top: solid $primary 50%;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("slash", "focus_search", "Search"),
        Binding("i", "inspect", "Inspect"),
        Binding("r", "revoke", "Revoke"),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.entries: dict[str, dict[str, Any]] = {}
        self.loaded = False
        self.pattern = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="search-bar"):
            yield Label("Search")
            yield Input(
                placeholder="client, grant, user, scope, type; or paste a token or its tknCde",
                id="token-search",
                compact=True,
            )
        table: DataTable[Text] = DataTable(id="tokens-table", cursor_type="row")
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        yield table
        with VerticalScroll(id="token-detail"):
            yield Static("Select a token to see it here.", id="token-json", markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide the table's keys while typing in the search box (they type there)."""
        if action in ("inspect", "revoke") and isinstance(self.app.focused, Input):
            return None
        return True

    def focus_main(self) -> None:
        self.query_one("#tokens-table", DataTable).focus()

    def action_focus_search(self) -> None:
        self.query_one("#token-search", Input).focus()

    def load(self) -> None:
        self.search(self.pattern)

    @on(Input.Submitted, "#token-search")
    def _submitted(self, event: Input.Submitted) -> None:
        self.pattern = event.value.strip()
        self.search(self.pattern)
        self.focus_main()

    # -- searching ----------------------------------------------------------------------------
    async def _find(self, pattern: str) -> tuple[int, list[dict[str, Any]], str]:
        """(total, entries, what was searched for)."""
        if TOKEN_CODE.match(pattern):  # a tknCde is not among the searched attributes
            found = await self._get(pattern)
            return len(found), found, f"with tknCde {pattern[:12]}\u2026"
        if len(pattern) >= 16 and not re.search(r"[\s|]", pattern):
            # Perhaps a pasted raw token: look it up by its hash first, so that a token
            # never travels in a query string (and the server's access log) if avoidable.
            found = await self._get(sha256_hex(pattern))
            if found:
                return 1, found, "for the pasted token"
        page = await call(
            self.ctx.api.search_tokens, pattern, SEARCH_LIMIT, sort_by="iat", descending=True
        )
        entries = [e for e in page.get("entries", []) if isinstance(e, dict)]
        what = f"matching {shorten(pattern, 40)!r}" if pattern else "in the store"
        return int(page.get("totalEntriesCount", len(entries))), entries, what

    async def _get(self, code: str) -> list[dict[str, Any]]:
        try:
            return [await call(self.ctx.api.get_token, code)]
        except ApiClientError as exc:
            if exc.status == 404:
                return []
            raise

    @work(exclusive=True, group="tokens-search")
    async def search(self, pattern: str) -> None:
        try:
            total, entries, what = await self._find(pattern)
        except ApiClientError as exc:
            self.ctx.report.error(exc)
            return
        self.loaded = True
        self.entries = {str(e.get("tokenCode")): e for e in entries}
        table = self.query_one("#tokens-table", DataTable)
        table.clear()
        for code, entry in self.entries.items():
            table.add_row(*row_of(entry), key=code)
        self._show_detail()
        more = f" (first {len(entries)} shown)" if total > len(entries) else ""
        self.ctx.report.info(f"{total} token(s) {what}{more}")

    # -- the selected token -------------------------------------------------------------------
    def selected(self) -> dict[str, Any] | None:
        table = self.query_one("#tokens-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.entries.get(str(key.value))

    @on(DataTable.RowHighlighted, "#tokens-table")
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        entry = self.selected()
        self.query_one("#token-json", Static).update(
            "No token selected." if entry is None else pretty(entry)
        )

    @on(DataTable.RowSelected, "#tokens-table")
    def _selected(self) -> None:
        self.action_inspect()

    def action_inspect(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.refresh_token(str(entry.get("tokenCode")))

    @work(group="tokens-refresh")
    async def refresh_token(self, code: str) -> None:
        """Read one token again and update its row and the detail pane."""
        try:
            entry = await call(self.ctx.api.get_token, code)
        except ApiClientError as exc:
            self.ctx.report.error(exc)
            return
        self._update(code, entry)

    def _update(self, code: str, entry: dict[str, Any]) -> None:
        self.entries[code] = entry
        table = self.query_one("#tokens-table", DataTable)
        if code in {str(k.value) for k in table.rows}:
            for (_, column), value in zip(COLUMNS, row_of(entry), strict=True):
                table.update_cell(code, column, value)
        self._show_detail()

    # -- revoking -----------------------------------------------------------------------------
    def action_revoke(self) -> None:
        entry = self.selected()
        if entry is None:
            self.ctx.report.info("No token selected: search first.")
            return
        code = str(entry.get("tokenCode"))
        if entry.get("revoked"):
            self.ctx.report.info(f"Token {code[:12]}\u2026 is already revoked.")
            return
        message = (
            f"Revoke the {entry.get('tokenType', 'token')} {code[:16]}\u2026\n"
            f"of client {entry.get('clientId')}?\n\n"
            "Its whole grant is revoked with it (the refresh token and the access tokens "
            "issued together)."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.revoke(code)
            else:
                self.ctx.report.info("Revocation cancelled.")

        self.app.push_screen(ConfirmDialog("Revoke token", message), answered)

    @work(group="tokens-revoke")
    async def revoke(self, code: str) -> None:
        grant = self.entries.get(code, {}).get("grantId")
        # The whole grant goes: refresh every row of it that is on screen.
        codes = [code] + [
            c for c, e in self.entries.items() if c != code and grant and e.get("grantId") == grant
        ]
        try:
            done = await call(self.ctx.api.revoke_token, code)
            for each in codes:
                self._update(each, await call(self.ctx.api.get_token, each))
        except ApiClientError as exc:
            self.ctx.report.error(exc)
            return
        if done:
            self.ctx.report.info(f"Token {code[:12]}\u2026 revoked (with its grant).")
        else:
            self.ctx.report.info(f"Token {code[:12]}\u2026 was not live (expired or revoked).")
