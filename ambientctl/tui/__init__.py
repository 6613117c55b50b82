"""The Textual app (`ambientctl` with no arguments on a terminal, or `ambientctl ui`). Entry point:
`ambientctl.tui.app.run_app`; nothing here is imported unless the app is started, so `--help` stays fast."""
