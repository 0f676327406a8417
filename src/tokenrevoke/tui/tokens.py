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
from tokenrevoke.model.scope_ids import is_config_api_scope
from tokenrevoke.tui.common import Context, FitTable, call, cell, pretty, shorten
from tokenrevoke.tui.dialogs import ConfirmDialog

TOKEN_CODE = re.compile(r"^[0-9a-f]{64}$")
SEARCH_LIMIT = 200  # rows shown
SEARCH_PAGES = 5  # pages of SEARCH_LIMIT read at most, to find them among hidden ones


def expired(entry: dict[str, Any]) -> bool:
    text = entry.get("expirationDate")
    if not isinstance(text, str):
        return False
    try:
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return False
    return when.timestamp() <= time.time()


def admin_session(entry: dict[str, Any], admin_client: str) -> bool:
    """A token an admin tool (this TUI, the CLI, the Terraform provider) obtained for its own
    config-API calls: issued to the client this TUI signs in as, or carrying only config-API
    scopes (apiclient.py asks for one config-API scope per token)."""
    scopes = str(entry.get("scope") or "").split()
    if entry.get("clientId") == admin_client:
        return True
    return bool(scopes) and all(is_config_api_scope(s) for s in scopes)


def row_of(entry: dict[str, Any], admin: bool = False) -> tuple[Text, ...]:
    """The token code cut to 10 characters (in full in the detail pane); an admin session's
    row dimmed."""
    kind = str(entry.get("tokenType", "")).removesuffix("_token")
    expiry = str(entry.get("expirationDate") or "").replace("T", " ")[5:16]  # MM-DD HH:MM
    revoked = bool(entry.get("revoked"))
    faint = "dim" if admin else ""
    return (
        cell(entry.get("tokenCode"), 10, faint),
        cell(entry.get("clientId"), style=faint),
        cell(kind, style=faint),
        cell(entry.get("grantType"), style=faint),
        cell(expiry, style="dim" if admin or expired(entry) else ""),
        cell("yes", style="bold red") if revoked else cell("no", style=faint or "green"),
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
        Binding("a", "toggle_admin", "Admin tokens"),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.found: dict[str, dict[str, Any]] = {}  # what the last search read
        self.entries: dict[str, dict[str, Any]] = {}  # what the table shows of it
        self.loaded = False
        self.pattern = ""
        self.show_admin = False  # the admin tools' own config-API sessions
        self._lookup = False  # the last search named one token: shown whatever it is
        self._summary = ""
        self._total = 0

    def compose(self) -> ComposeResult:
        with Horizontal(id="search-bar"):
            yield Label("Search")
            yield Input(
                placeholder="client, grant, user, scope, type; or paste a token or its tknCde",
                id="token-search",
                compact=True,
            )
        table = FitTable(id="tokens-table", cursor_type="row")
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        yield table
        with VerticalScroll(id="token-detail"):
            yield Static("Select a token to see it here.", id="token-json", markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide the table's keys while typing in the search box (they type there)."""
        if action in ("inspect", "revoke", "toggle_admin") and isinstance(self.app.focused, Input):
            return None
        return True

    def focus_main(self) -> None:
        self.query_one("#tokens-table", FitTable).focus()

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
    def is_admin(self, entry: dict[str, Any]) -> bool:
        return admin_session(entry, self.ctx.api.client_id)

    async def _find(self, pattern: str) -> tuple[int, list[dict[str, Any]], str, bool]:
        """(total, entries, what was searched for, whether it named one token)."""
        if TOKEN_CODE.match(pattern):  # a tknCde is not among the searched attributes
            found = await self._get(pattern)
            return len(found), found, f"with tknCde {pattern[:12]}\u2026", True
        if len(pattern) >= 16 and not re.search(r"[\s|]", pattern):
            # Perhaps a pasted raw token: look it up by its hash first, so that a token
            # never travels in a query string (and the server's access log) if avoidable.
            found = await self._get(sha256_hex(pattern))
            if found:
                return 1, found, "for the pasted token", True
        entries: list[dict[str, Any]] = []
        total = 0
        for _ in range(SEARCH_PAGES):  # newest first; further only while hidden ones crowd
            page = await call(
                self.ctx.api.search_tokens,
                pattern,
                SEARCH_LIMIT,
                start=len(entries),
                sort_by="iat",
                descending=True,
            )
            got = [e for e in page.get("entries", []) if isinstance(e, dict)]
            entries += got
            total = int(page.get("totalEntriesCount", len(entries)))
            shown = entries if self.show_admin else [e for e in entries if not self.is_admin(e)]
            if not got or len(entries) >= total or len(shown) >= SEARCH_LIMIT:
                break
        what = f"matching {shorten(pattern, 40)!r}" if pattern else "in the store"
        return total, entries, what, False

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
            total, entries, what, lookup = await self._find(pattern)
        except ApiClientError as exc:
            self.ctx.report.error(exc)
            return
        self.loaded = True
        self.found = {str(e.get("tokenCode")): e for e in entries}
        self._total, self._summary, self._lookup = total, what, lookup
        self._fill()

    def action_toggle_admin(self) -> None:
        self.show_admin = not self.show_admin
        self._fill()

    def _fill(self) -> None:
        """Show what the last search found, the admin sessions only when asked for (or when
        the operator named that one token)."""
        table = self.query_one("#tokens-table", FitTable)
        table.clear()
        self.entries = {}
        hidden = 0
        for code, entry in self.found.items():
            admin = self.is_admin(entry)
            if admin and not (self.show_admin or self._lookup):
                hidden += 1
                continue
            if len(self.entries) < SEARCH_LIMIT:
                self.entries[code] = entry
                table.add_row(*row_of(entry, admin), key=code)
        self._show_detail()
        admins = sum(self.is_admin(e) for e in self.entries.values())
        text = f"{len(self.entries)} token(s) {self._summary}"
        if hidden:
            text += f"; {hidden} config-API session token(s) hidden (a: show)"
        elif admins and not self._lookup:
            text += f", {admins} of them config-API sessions, dimmed (a: hide)"
        if self._total > len(self.found):
            text += f"; the newest {len(self.found)} of {self._total} read"
        self.ctx.report.info(text)

    # -- the selected token -------------------------------------------------------------------
    def selected(self) -> dict[str, Any] | None:
        table = self.query_one("#tokens-table", FitTable)
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
        self.found[code] = self.entries[code] = entry
        table = self.query_one("#tokens-table", FitTable)
        if code in {str(k.value) for k in table.rows}:
            for (_, column), value in zip(
                COLUMNS, row_of(entry, self.is_admin(entry)), strict=True
            ):
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
