"""The baselines: bare Textual apps built only from Textual's own widgets, doing what the figure asks of cockpit.

Imports nothing but Textual, so the start-up baseline pays for Textual alone.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.widgets import Footer, Header, Log, TextArea, Tree


class StartupApp(App[None]):
    """The start-up baseline: a header, a tree, a log and a footer, like cockpit's first screen in outline."""

    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        tree: Tree[None] = Tree("plan")
        tree.root.expand()
        for index in range(1, 4):
            tree.root.add_leaf(f"t{index} task {index}")
        yield tree
        yield Log()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Log).write_line("waiting for agents")


class BareStreamApp(App[None]):
    """The streaming baseline: one Log per agent in a grid, every token appended as it arrives."""

    CSS = """
    Grid { grid-size: 4; }
    Log { border: round $panel-lighten-2; }
    """

    def __init__(self, agents: int) -> None:
        super().__init__()
        self.agents = agents

    def compose(self) -> ComposeResult:
        with Grid():
            for index in range(self.agents):
                yield Log(id=f"log-{index}")
        yield Footer()

    def logs(self) -> list[Log]:
        return list(self.query(Log))


class TextAreaApp(App[None]):
    """The big-diff baseline: Textual's TextArea, read-only, highlighting the diff (as Python: Textual has no
    diff grammar, and the diff is of a Python file)."""

    def __init__(self, language: str | None) -> None:
        super().__init__()
        self.language = language

    def compose(self) -> ComposeResult:
        yield TextArea(language=self.language, read_only=True, show_line_numbers=True, id="diff")
        yield Footer()
