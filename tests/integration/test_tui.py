"""The terminal UI (`tokenrevoke tui`), driven with Textual's pilot against a real server.

Plain sync tests: each runs its scenario with `asyncio.run`. The TUI makes every API call in a
worker thread; `settle` waits until no worker is left and the message queues are empty, so
nothing sleeps on a timer.

Run as a module to regenerate the screenshots in docs/images:
    .venv/bin/python -m tests.integration.test_tui docs/images
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.color import Color
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, Label, Static

from tests.support.revoke_scripts import ALLOW_SCRIPT
from tests.support.server import ADMIN_ID, ADMIN_SECRET, Client, Server, free_port
from tests.support.wire import sha256_hex
from tokenrevoke.apiclient import ConfigApiClient
from tokenrevoke.model.config import IMPLEMENTED_FLAGS, FeatureFlag
from tokenrevoke.model.scope_ids import CONFIG
from tokenrevoke.tui.app import TokenRevokeApp
from tokenrevoke.tui.clients import ClientsView
from tokenrevoke.tui.dialogs import ConfirmDialog, EditPropertyDialog
from tokenrevoke.tui.properties import FLAG_ORDER, FlagToggle
from tokenrevoke.tui.scripts import ScriptsView
from tokenrevoke.tui.tokens import TokensView

Scenario = Callable[[Pilot[None], TokenRevokeApp], Awaitable[None]]


async def settle(pilot: Pilot[None]) -> None:
    """Wait until every worker has finished and the app has handled what they posted."""
    app = pilot.app
    for _ in range(200):
        await pilot.pause()
        if not len(app.workers):
            return
        await app.workers.wait_for_complete()
    raise AssertionError("the TUI kept starting workers")


def drive(
    url: str,
    scenario: Scenario,
    *,
    client_id: str = ADMIN_ID,
    secret: str = ADMIN_SECRET,
    size: tuple[int, int] = (80, 24),
) -> None:
    async def main() -> None:
        with ConfigApiClient(url, client_id, secret, timeout=10.0) as api:
            app = TokenRevokeApp(api)
            app.animation_level = "none"  # nothing to wait for between key presses
            async with app.run_test(size=size) as pilot:
                await settle(pilot)
                await scenario(pilot, app)
                assert app.is_running  # errors are shown, never fatal

    asyncio.run(main())


def text_of(static: Static) -> str:
    """The plain text a Static shows (a rich JSON, a Group, a string...)."""
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(static.content)
    return console.export_text()


@pytest.fixture(scope="module")
def admin_api(server: Server) -> Iterator[ConfigApiClient]:
    with ConfigApiClient(server.url, ADMIN_ID, ADMIN_SECRET) as api:
        yield api


def new_client(api: ConfigApiClient, name: str, **extra: Any) -> Client:
    """A client made through the config API (quicker than a CLI process per client)."""
    data = api.create_client({"clientName": name, **extra})
    return Client(data["inum"], data.get("clientSecret"), data)


# -- Properties and feature flags ------------------------------------------------------------
def line_of(widget: Widget, y: int = 0) -> Strip:
    """What the widget draws on its line `y`, as the terminal gets it."""
    return widget.render_line(y)


def test_revoke_token_is_two_keys_from_the_start_and_flips_from_the_keyboard(
    server: Server, admin_api: ConfigApiClient
) -> None:
    client = new_client(admin_api, "tui-flags")
    token = server.token(client)["access_token"]

    async def scenario(pilot: Pilot[None], app: TokenRevokeApp) -> None:
        toggle = app.query_one("#flag-REVOKE_TOKEN", FlagToggle)
        assert toggle.value is True and not toggle.disabled
        assert "on" in line_of(toggle).text.split()
        await pilot.press("f")  # key 1: to the flags, REVOKE_TOKEN first
        assert app.focused is toggle
        await pilot.press("space")  # key 2: off
        await settle(pilot)

        flags = admin_api.feature_flags()
        assert flags and "REVOKE_TOKEN" not in flags
        assert set(flags) == {f.value for f in FeatureFlag} - {"REVOKE_TOKEN"}
        assert toggle.value is False
        assert "off" in line_of(toggle).text.split()  # a word, not only a colour
        server.wait_until(lambda: server.send_revoke(client, token=token).status_code == 403)
        table = app.query_one("#props-table", DataTable)
        assert "REVOKE_TOKEN" not in str(table.get_cell("featureFlags", "value"))
        assert "REVOKE_TOKEN disabled" in app.reporter.last

        await pilot.press("enter")
        await settle(pilot)
        assert admin_api.feature_flags() == []  # everything on again: the empty list
        assert toggle.value is True and "on" in line_of(toggle).text.split()
        assert server.is_active(token)  # the 403s revoked nothing

        # The other ways there: Right from the table; Tab twice (table, detail pane, flag).
        table.focus()
        await pilot.press("right")
        assert app.focused is toggle
        table.focus()
        await pilot.press("tab", "tab")
        assert app.focused is toggle

    try:
        drive(server.url, scenario)
    finally:
        admin_api.set_property("featureFlags", [])
    assert server.send_revoke(client, token=token).status_code == 200
    assert not server.is_active(token)


def test_arrows_move_between_the_flags_fields_and_buttons(server: Server) -> None:
    async def scenario(pilot: Pilot[None], app: TokenRevokeApp) -> None:
        table = app.query_one("#props-table", DataTable)
        assert app.focused is table
        order = [app.query_one(f"#flag-{flag.value}", FlagToggle) for flag in FLAG_ORDER]
        await pilot.press("right")
        assert app.focused is order[0]
        for expected in order[1:]:
            await pilot.press("down")
            assert app.focused is expected
        await pilot.press("down")  # the last stays
        assert app.focused is order[-1]
        for expected in reversed(order[:-1]):
            await pilot.press("up")
            assert app.focused is expected
        await pilot.press("down", "left")  # back to the table...
        assert app.focused is table
        await pilot.press("right")  # ...and to the flag last visited
        assert app.focused is order[1]
        assert [t.value for t in order] == [True] * len(order)  # moving flipped nothing

        # Tokens: from the search box down into the results.
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press("down")
        assert app.focused is app.query_one("#tokens-table", DataTable)

        # A dialog: the arrows go between the field and the buttons.
        await pilot.press("1")
        await settle(pilot)
        table.move_cursor(row=table.get_row_index("accessTokenLifetime"))
        await pilot.press("e")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, EditPropertyDialog)
        assert app.focused is dialog.query_one("#value", Input)
        await pilot.press("down")
        assert app.focused is dialog.query_one("#save", Button)
        await pilot.press("right")
        assert app.focused is dialog.query_one("#cancel", Button)
        await pilot.press("up", "up")
        assert app.focused is dialog.query_one("#value", Input)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, EditPropertyDialog)

    drive(server.url, scenario)


def test_focus_is_plain_to_see_and_states_are_words(
    server: Server, admin_api: ConfigApiClient
) -> None:
    admin_api.set_property("featureFlags", ["INTROSPECTION", "CIBA"])

    async def scenario(pilot: Pilot[None], app: TokenRevokeApp) -> None:
        toggles = {t.flag: t for t in app.query(FlagToggle)}
        words = {flag: line_of(t).text.split()[0] for flag, t in toggles.items()}
        assert words[FeatureFlag.REVOKE_TOKEN] == "off"
        assert words[FeatureFlag.INTROSPECTION] == "on"
        assert words[FeatureFlag.CIBA] == "on" and words[FeatureFlag.UMA] == "off"
        # The unimplemented ones sit under a heading that says they do nothing here.
        pane = app.query_one("#flags")
        names = [
            str(w.content) if isinstance(w, Label) else w.flag.value
            for w in pane.children
            if isinstance(w, Label | FlagToggle)
        ]
        heading = names.index("Not implemented (no effect):")
        implemented = len(IMPLEMENTED_FLAGS)
        assert names[heading - implemented : heading] == [f.value for f in IMPLEMENTED_FLAGS]
        assert "CIBA" in names[heading:] and "REVOKE_TOKEN" not in names[heading:]

        revoke, introspection = (
            toggles[FeatureFlag.REVOKE_TOKEN],
            toggles[FeatureFlag.INTROSPECTION],
        )
        await pilot.press("f")
        assert app.focused is revoke
        focused, other = line_of(revoke), line_of(introspection)
        assert focused.text.startswith("\u25b6") and not other.text.startswith("\u25b6")
        # The whole line takes the accent colour: a solid background, far from the others'.
        accent = Color.parse(app.current_theme.accent or "")
        assert near(background(focused), accent)
        assert not near(background(other), accent, 60)

        # A table says it has the focus in its header; the search bar in its label.
        table = app.query_one("#props-table", DataTable)
        assert not table.has_focus and accent_header(table, accent) is False
        table.focus()
        await pilot.pause()
        assert accent_header(table, accent) is True

    try:
        drive(server.url, scenario)
    finally:
        admin_api.set_property("featureFlags", [])


def background(strip: Strip) -> Color:
    """The background of a line's first cell."""
    style = list(strip)[0].style
    assert style is not None and style.bgcolor is not None
    return Color.from_rich_color(style.bgcolor)


def near(a: Color, b: Color, within: int = 4) -> bool:
    """The same colour give or take rounding (a composited colour may be one off)."""
    return max(abs(a.r - b.r), abs(a.g - b.g), abs(a.b - b.b)) <= within


def accent_header(table: DataTable[Any], accent: Color) -> bool:
    return near(background(line_of(table, 0)), accent, 16)  # DataTable tints it a little


# -- Tokens -----------------------------------------------------------------------------------
def test_search_inspect_and_revoke_a_token_with_confirmation(
    server: Server, admin_api: ConfigApiClient
) -> None:
    client = new_client(admin_api, "tui-tokens")
    token = server.token(client)["access_token"]
    code = sha256_hex(token)

    async def scenario(pilot: Pilot[None], app: TokenRevokeApp) -> None:
        await pilot.press("2")
        await settle(pilot)
        view = app.query_one(TokensView)
        table = app.query_one("#tokens-table", DataTable)

        await pilot.press("slash", *client.client_id[:8], "enter")  # a unique prefix
        await settle(pilot)
        assert table.row_count == 1
        selected = view.selected()
        assert selected is not None and selected["tokenCode"] == code
        assert selected["clientId"] == client.client_id
        assert str(table.get_cell(code, "revoked")) == "no"
        assert code in text_of(app.query_one("#token-json", Static))

        # A pasted raw token finds its row too (looked up by its hash).
        await pilot.press("slash")
        app.query_one("#token-search", Input).value = token
        await pilot.press("enter")
        await settle(pilot)
        assert list(view.entries) == [code]
        assert "pasted token" in app.reporter.last

        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert server.is_active(token)
        assert str(table.get_cell(code, "revoked")) == "no"

        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.click("#yes")
        await settle(pilot)
        assert not server.is_active(token)
        assert str(table.get_cell(code, "revoked")) == "yes"
        assert view.entries[code]["revoked"] is True
        assert '"revoked": true' in text_of(app.query_one("#token-json", Static))

    drive(server.url, scenario)


def test_config_api_session_tokens_are_hidden_until_asked_for(
    server: Server, admin_api: ConfigApiClient
) -> None:
    client = new_client(admin_api, "tui-visible")
    code = sha256_hex(server.token(client)["access_token"])
    # Another admin tool's session: another client, only a config-API scope.
    tool = new_client(admin_api, "tui-other-tool", scopes=[CONFIG + "token.readonly"])
    tool_code = sha256_hex(server.token(tool, scope=CONFIG + "token.readonly")["access_token"])
    # A token of that same client for something else is no admin session.
    tool_web = new_client(admin_api, "tui-web", scopes=["openid", CONFIG + "token.readonly"])
    mixed = sha256_hex(server.token(tool_web, scope="openid " + CONFIG + "token.readonly")[
        "access_token"
    ])  # fmt: skip

    async def scenario(pilot: Pilot[None], app: TokenRevokeApp) -> None:
        await pilot.press("2")
        await settle(pilot)
        view = app.query_one(TokensView)
        table = app.query_one("#tokens-table", DataTable)
        own = [c for c, e in view.found.items() if e.get("clientId") == ADMIN_ID]
        assert own, "the TUI's own config-API sessions were read"
        assert not set(own) & set(view.entries)  # and not shown
        assert tool_code in view.found and tool_code not in view.entries
        assert code in view.entries and mixed in view.entries
        assert table.row_count == len(view.entries)
        assert "config-API session token(s) hidden (a: show)" in app.reporter.last

        await pilot.press("a")
        assert set(own) | {tool_code, code, mixed} <= set(view.entries)
        assert table.row_count == len(view.found)
        assert "config-API sessions, dimmed (a: hide)" in app.reporter.last

        await pilot.press("a")
        assert not set(own) & set(view.entries) and code in view.entries

        # Named by its tknCde, an admin session's token is shown all the same.
        await pilot.press("slash")
        app.query_one("#token-search", Input).value = own[0]
        await pilot.press("enter")
        await settle(pilot)
        assert list(view.entries) == [own[0]]

    drive(server.url, scenario)


def fits(table: DataTable[Any]) -> None:
    """Every row on one line, the whole of it on screen: nothing wraps or hides sideways."""
    assert table.row_count, "nothing to look at"
    assert table.virtual_size.width <= table.scrollable_content_region.width
    assert all(row.height == 1 for row in table.rows.values())
    columns = [c.key for c in table.ordered_columns]
    visible = min(table.row_count, table.scrollable_content_region.height - 1)
    for y, row in enumerate(table.ordered_rows[:visible], start=1):
        line = line_of(table, y).text
        first, last = (str(table.get_cell(row.key, c)) for c in (columns[0], columns[-1]))
        shown = line.strip()  # the last cell whole, or cut to fit with an ellipsis
        assert shown.startswith(first[:3]) and last[:3] in shown, line
        assert shown.endswith(last) or shown.endswith("\u2026"), line


def test_tables_fit_80_columns(server: Server, admin_api: ConfigApiClient) -> None:
    long_name = "a client with a name much longer than any column could hold " * 2
    grants = ["authorization_code", "refresh_token", "client_credentials", "password"]
    client = new_client(admin_api, long_name, grantTypes=grants)
    server.token(client)
    script = admin_api.create_script(
        {"name": "tui-wide-" + "x" * 50, "scriptType": "revoke_token", "script": ALLOW_SCRIPT,
         "enabled": False, "level": 10}
    )  # fmt: skip

    async def scenario(pilot: Pilot[None], app: TokenRevokeApp) -> None:
        assert app.size.width == 80
        fits(app.query_one("#props-table", DataTable))
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("a")  # the admin sessions too: more rows, the same widths
        await settle(pilot)
        tokens = app.query_one("#tokens-table", DataTable)
        fits(tokens)
        assert all(len(str(tokens.get_cell(k, "code"))) <= 10 for k in tokens.rows)  # cut hashes
        await pilot.press("3")
        await settle(pilot)
        clients = app.query_one("#clients-table", DataTable)
        clients.move_cursor(row=clients.get_row_index(client.client_id))
        await settle(pilot)
        fits(clients)
        await pilot.press("4")
        await settle(pilot)
        fits(app.query_one("#scripts-table", DataTable))

    try:
        drive(server.url, scenario, size=(80, 24))
    finally:
        admin_api.delete_script(script["inum"])


# -- Clients and scripts ---------------------------------------------------------------------
def test_clients_screen_lists_and_shows_a_client(
    server: Server, admin_api: ConfigApiClient
) -> None:
    name = "[b]tui-listed[/b]"  # shown as it is: what the server sends is never markup
    client = new_client(admin_api, name, scopes=["openid", "profile"])
    assert client.data["scopes"][0].startswith("inum=")  # the server lists them by DN

    async def scenario(pilot: Pilot[None], app: TokenRevokeApp) -> None:
        await pilot.press("3")
        await settle(pilot)
        view = app.query_one(ClientsView)
        table = app.query_one("#clients-table", DataTable)
        assert client.client_id in view.clients
        row = table.get_row(client.client_id)
        assert str(row[1]) == name and str(row[2]) == "client_secret_basic"
        assert str(row[4]) == "no"
        assert str(row[5]) == "openid profile"  # shown by id
        table.move_cursor(row=table.get_row_index(client.client_id))
        await pilot.press("enter")
        await settle(pilot)
        assert client.client_id in text_of(app.query_one("#client-json", Static))

    drive(server.url, scenario)


def test_scripts_screen_enables_and_disables_a_script(
    server: Server, admin_api: ConfigApiClient
) -> None:
    script = admin_api.create_script(
        {"name": "tui-allow", "scriptType": "revoke_token", "script": ALLOW_SCRIPT,
         "enabled": False, "level": 10}
    )  # fmt: skip
    inum = script["inum"]

    def enabled() -> bool:
        return bool(next(s for s in admin_api.list_scripts()["entries"] if s["inum"] == inum)[
            "enabled"
        ])  # fmt: skip

    async def scenario(pilot: Pilot[None], app: TokenRevokeApp) -> None:
        await pilot.press("4")
        await settle(pilot)
        table = app.query_one("#scripts-table", DataTable)
        assert str(table.get_row(inum)[0]) == "tui-allow"
        table.move_cursor(row=table.get_row_index(inum))
        await pilot.press("t")
        await settle(pilot)
        assert enabled()
        assert str(table.get_cell(inum, "enabled")) == "yes"
        assert app.query_one(ScriptsView).scripts[inum]["enabled"] is True
        await pilot.press("space")
        await settle(pilot)
        assert not enabled()
        assert str(table.get_cell(inum, "enabled")) == "no"

    try:
        drive(server.url, scenario)
    finally:
        admin_api.delete_script(inum)


# -- Errors are shown, never fatal -----------------------------------------------------------
def test_wrong_secret_is_reported(server: Server) -> None:
    async def scenario(pilot: Pilot[None], app: TokenRevokeApp) -> None:
        assert "401" in app.reporter.last_error
        assert app.query_one("#flag-REVOKE_TOKEN", FlagToggle).disabled
        await pilot.press("2", "slash", "x", "enter")
        await settle(pilot)
        assert "401" in app.reporter.last_error

    drive(server.url, scenario, secret="not-the-secret-0123456789")


def test_server_down_is_reported() -> None:
    async def scenario(pilot: Pilot[None], app: TokenRevokeApp) -> None:
        assert "cannot reach" in app.reporter.last_error
        await pilot.press("3", "f5")
        await settle(pilot)
        assert "cannot reach" in app.reporter.last_error

    drive(f"http://127.0.0.1:{free_port()}", scenario)


def test_missing_scope_is_reported_and_the_rest_works(
    server: Server, admin_api: ConfigApiClient
) -> None:
    reader = new_client(admin_api, "tui-reader", scopes=[CONFIG + "token.readonly"])
    token = server.token(reader)["access_token"]

    async def scenario(pilot: Pilot[None], app: TokenRevokeApp) -> None:
        assert "403" in app.reporter.last_error and "properties.readonly" in app.reporter.last_error
        await pilot.press("2", "slash")
        app.query_one("#token-search", Input).value = reader.client_id
        await pilot.press("enter", "a")  # a config-API session's token, shown on request
        await settle(pilot)
        assert sha256_hex(token) in app.query_one(TokensView).entries  # with the TUI's own
        await pilot.press("r", "y")  # needs token.delete, which this client lacks
        await settle(pilot)
        assert "403" in app.reporter.last_error and "token.delete" in app.reporter.last_error
        assert server.is_active(token)

    drive(server.url, scenario, client_id=reader.client_id, secret=reader.secret or "")


# -- Screenshots for docs/tui.md ---------------------------------------------------------------
def make_screenshots(out: Path, size: tuple[int, int] = (80, 24)) -> list[Path]:
    """Start a server with a few clients and tokens, and save the Properties and Tokens
    screens as SVG (and PNG when `cairosvg` or `rsvg-convert` is on PATH)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "data").start()
        try:
            shop = server.create_client(
                "--client-id", "web-shop", name="web-shop", grant_types=["client_credentials"]
            )
            batch = server.create_client("--client-id", "batch-01", name="nightly-batch")
            tokens = [server.token(shop)["access_token"] for _ in range(3)]
            tokens += [server.token(batch)["access_token"] for _ in range(2)]
            with ConfigApiClient(server.url, ADMIN_ID, ADMIN_SECRET) as api:
                api.revoke_token(tokens[1])
                off = {"USERINFO", "CLIENTINFO", "REGISTRATION", "REVOKE_SESSION", "UNKNOWN"}
                api.set_property("featureFlags", sorted({f.value for f in FeatureFlag} - off))

            async def scenario(pilot: Pilot[None], app: TokenRevokeApp) -> None:
                table = app.query_one("#props-table", DataTable)
                table.move_cursor(row=table.get_row_index("featureFlags"))
                await pilot.press("f")  # the focus on REVOKE_TOKEN
                await settle(pilot)
                app.save_screenshot("tui-properties.svg", str(out))
                await pilot.press("2")  # every token but the admin tools' own
                await settle(pilot)
                app.query_one("#tokens-table", DataTable).move_cursor(row=1)
                await settle(pilot)
                app.save_screenshot("tui-tokens.svg", str(out))

            drive(server.url, scenario, size=size)
        finally:
            server.stop()
    svgs = [out / "tui-properties.svg", out / "tui-tokens.svg"]
    return svgs + [png for svg in svgs if (png := svg_to_png(svg)) is not None]


def svg_to_png(svg: Path, width: int = 1400) -> Path | None:
    """Render with a local monospace font (the SVG asks for Fira Code from a CDN)."""
    tool = shutil.which("cairosvg") or shutil.which("rsvg-convert")
    if tool is None:
        return None
    text = svg.read_text().replace("Fira Code", "DejaVu Sans Mono")
    png = svg.with_suffix(".png")
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False) as tmp:
        tmp.write(text)
    try:
        if Path(tool).name == "cairosvg":
            command = [tool, tmp.name, "-o", str(png), "--output-width", str(width)]
        else:
            command = [tool, "-w", str(width), "-o", str(png), tmp.name]
        subprocess.run(command, check=True, env={**os.environ})
    finally:
        os.unlink(tmp.name)
    return png


if __name__ == "__main__":
    for path in make_screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")):
        print(path)
