"""Modal dialogs: a yes/no confirmation and the property editor."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tokenrevoke.apiclient import ApiClientError
from tokenrevoke.model.config import PROPERTIES, ConfigError, parse_property_value
from tokenrevoke.tui.common import Context, call, describe

DIALOG_CSS = """
{name} {{
    align: center middle;
    background: $background 60%;
}}
{name} > Vertical {{
    width: 76;
    max-width: 100%;
    height: auto;
    max-height: 100%;
    border: round $primary;
    background: $surface;
    padding: 1 2;
}}
{name} .title {{
    text-style: bold;
    margin-bottom: 1;
}}
{name} .buttons {{
    height: auto;
    margin-top: 1;
    align-horizontal: right;
}}
{name} Button {{
    margin-left: 2;
}}
{name} .help {{
    color: $text-muted;
}}
"""

# A modal screen ignores the app's keys: the arrows move between a dialog's field and buttons
# here (an input keeps Left and Right for its cursor).
ARROWS = [
    Binding("down,right", "app.focus_next", "Next", show=False),
    Binding("up,left", "app.focus_previous", "Previous", show=False),
]


class ConfirmDialog(ModalScreen[bool]):
    """Ask before doing something that cannot be undone. Dismisses with True only on Yes;
    "No" has the focus, so a stray Enter does nothing harmful."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmDialog")
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
        *ARROWS,
    ]

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self._title = title
        self._message = message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self._title), classes="title")
            yield Static(Text(self._message), id="message")
            yield Static("y: yes   n or Esc: no", classes="help")
            with Horizontal(classes="buttons"):
                yield Button("Yes", id="yes", variant="error")
                yield Button("No", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


KIND_HELP = {
    "bool": "true or false",
    "posint": "a positive integer",
    "nonnegint": "a non-negative integer",
    "count": "an integer, 0 or more (0 = off)",
    "window": "a number of seconds, from 1 to 86400",
    "bits": "1, 2, 4 or 8",
    "rs256": "RS256 (the signing keys' algorithm)",
    "blocksize": "an integer from 1 to 100000",
    "url": "an absolute http(s) URL, or null for the default",
    "flags": 'a JSON list of feature flag names, e.g. ["REVOKE_TOKEN"] ([] = all on)',
    "strlist": 'a JSON list of strings, e.g. ["issuer", "jwks_uri"]',
    "cors": "a JSON list of CORS filter objects",
}


def parse_value(name: str, text: str) -> Any:
    """The typed value of what the operator typed; the server validates it."""
    if name in PROPERTIES:
        return parse_property_value(name, text)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{name}: {text!r} is not valid JSON") from exc


class EditPropertyDialog(ModalScreen[dict[str, Any] | None]):
    """Edit one property as JSON. Saves with a JSON Patch `replace`; the server validates,
    and its error message is shown here (the dialog stays open). Dismisses with the new
    effective properties, or None when cancelled."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="EditPropertyDialog")
        + """
    EditPropertyDialog #error {
        color: $text-error;
        margin-top: 1;
        height: auto;
    }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Cancel"), *ARROWS]

    def __init__(self, ctx: Context, name: str, value: Any) -> None:
        super().__init__()
        self._ctx = ctx
        self._prop = name
        self._value = value

    def compose(self) -> ComposeResult:
        kind, default = PROPERTIES.get(self._prop, ("json", None))
        with Vertical():
            yield Label(Text(f"Edit {self._prop}"), classes="title")
            yield Static(Text(f"Value: {KIND_HELP.get(kind, 'JSON')}."), classes="help")
            yield Static(Text(f"Default: {json.dumps(default)}"), classes="help")
            yield Input(json.dumps(self._value), id="value")
            yield Static("", id="error")
            yield Static("Enter: save   Esc: cancel", classes="help")
            with Horizontal(classes="buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#value", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @property
    def error_text(self) -> str:
        return str(self.query_one("#error", Static).content)

    def _show_error(self, text: str) -> None:
        self.query_one("#error", Static).update(Text(text))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#save")
    @on(Input.Submitted, "#value")
    def _submit(self) -> None:
        self.save(self.query_one("#value", Input).value)

    @work(exclusive=True, group="edit-property")
    async def save(self, text: str) -> None:
        try:
            value = parse_value(self._prop, text)
        except ConfigError as exc:
            self._show_error(str(exc))
            return
        self._show_error("saving\u2026")
        try:
            properties = await call(self._ctx.api.set_property, self._prop, value)
        except ApiClientError as exc:
            self._show_error(describe(exc))
            self._ctx.report.error(exc)
            return
        self._ctx.report.info(f"{self._prop} saved")
        self.dismiss(properties)
