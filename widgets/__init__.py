"""Textual widgets of the cockpit: one module per pane or dialog. Only the front end imports these."""
