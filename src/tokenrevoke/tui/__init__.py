"""`tokenrevoke tui`: a Textual terminal UI over the config API, in the spirit of Janssen's TUI.

Every server call goes through `tokenrevoke.apiclient.ConfigApiClient`; the entry point is
`tokenrevoke.tui.app.run_tui`.
"""
