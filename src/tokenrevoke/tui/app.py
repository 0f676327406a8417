"""The application: one tab per screen, a status line, the key bindings in the footer."""

from __future__ import annotations

from typing import Protocol

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, TabbedContent, TabPane

from tokenrevoke.apiclient import ConfigApiClient
from tokenrevoke.tui.clients import ClientsView
from tokenrevoke.tui.common import Context, Reporter, StatusLine
from tokenrevoke.tui.properties import PropertiesView
from tokenrevoke.tui.scripts import ScriptsView
from tokenrevoke.tui.tokens import TokensView


class View(Protocol):
    loaded: bool

    def load(self) -> object: ...

    def focus_main(self) -> None: ...


TABS = ("properties", "tokens", "clients", "scripts")


class TokenRevokeApp(App[None]):
    """`tokenrevoke tui`. Give it a `ConfigApiClient`; the caller closes the client."""

    TITLE = "tokenrevoke"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    TabbedContent {
        height: 1fr;
    }
    TabPane {
        padding: 0;
    }
    DataTable, VerticalScroll {
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
    }
    /* Where the focus is must be plain to see: an accent background or bar, not a shade. */
    DataTable:focus > .datatable--header {
        background: $accent;
        color: $text;
    }
    Input:focus {
        background: $accent 35%;
    }
    #search-bar:focus-within > Label, #filter-bar:focus-within > Label {
        background: $accent;
        text-style: bold;
    }
    VerticalScroll:focus {
        border-top: thick $accent;
    }
    """
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("f5,ctrl+r", "reload", "Refresh"),
        # Arrows move the focus wherever they mean nothing else (from a search box to its
        # table, between a dialog's field and buttons); tables and lists keep their own.
        Binding("down,right", "focus_next", "Next", show=False),
        Binding("up,left", "focus_previous", "Previous", show=False),
        *(Binding(str(n), f"show_tab('{tab}')", show=False) for n, tab in enumerate(TABS, 1)),
    ]

    def __init__(self, api: ConfigApiClient) -> None:
        super().__init__()
        self.api = api
        self.reporter = Reporter(self)
        self.ctx = Context(api, self.reporter)
        self.sub_title = f"Auth Server {api.url}"

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="properties"):
            with TabPane("1 Properties", id="properties"):
                yield PropertiesView(self.ctx)
            with TabPane("2 Tokens", id="tokens"):
                yield TokensView(self.ctx)
            with TabPane("3 Clients", id="clients"):
                yield ClientsView(self.ctx)
            with TabPane("4 Scripts", id="scripts"):
                yield ScriptsView(self.ctx)
        status = StatusLine("Connecting\u2026")
        self.reporter.line = status
        yield status
        yield Footer()

    def view(self, tab: str) -> View:
        views: dict[str, type[PropertiesView | TokensView | ClientsView | ScriptsView]] = {
            "properties": PropertiesView,
            "tokens": TokensView,
            "clients": ClientsView,
            "scripts": ScriptsView,
        }
        return self.query_one(f"#{tab}", TabPane).query_one(views[tab])

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active

    def on_mount(self) -> None:
        self._activate(self.active_tab)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id:
            self._activate(event.pane.id)

    def _activate(self, tab: str) -> None:
        view = self.view(tab)
        if not view.loaded:
            view.load()
        view.focus_main()

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_reload(self) -> None:
        self.view(self.active_tab).load()


def run_tui(url: str, client_id: str, client_secret: str, verify: bool | str = True) -> None:
    """Run the TUI against a server's config API until the operator quits."""
    with ConfigApiClient(url, client_id, client_secret, verify=verify, timeout=15.0) as api:
        TokenRevokeApp(api).run()
