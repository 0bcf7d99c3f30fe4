"""The cockpit's dialogs: each is a modal screen that returns its answer through `dismiss` (None means cancelled).

They hold no engine logic: the app opens them, reads the answer and sends the command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll, Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Markdown, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from textual.app import ComposeResult

DIALOG_CSS = """
%s {
    align: center middle;
    background: $background 60%%;
    & > Vertical {
        width: 76; max-width: 95%%; height: auto; max-height: 95%%;
        border: thick $primary; background: $surface; padding: 0 1;
        border-title-color: $text; border-title-style: bold;
    }
    & .hint { color: $text-muted; height: auto; margin-top: 1; }
    & .field-label { color: $text-muted; margin-top: 1; }
    & Input { margin: 0; }
    & TextArea { height: 10; }
    & OptionList { height: auto; max-height: 12; }
}
"""


def split_ids(text: str) -> list[str]:
    return [part.strip() for part in text.replace(" ", ",").split(",") if part.strip()]


class RejectDialog(ModalScreen[str | None]):
    """Reject a decision, with an optional reason that goes back to the agent (or the planner)."""

    DEFAULT_CSS = DIALOG_CSS % "RejectDialog"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel", id="dialog.cancel")]

    def __init__(self, prompt: str, *, title: str = "Reject", verb: str = "rejects") -> None:
        super().__init__()
        self.prompt = prompt
        self.title_text = title
        self.verb = verb

    def compose(self) -> "ComposeResult":
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(self.prompt)
            yield Label("Reason for the agent (optional)", classes="field-label")
            yield Input(placeholder="what to do differently", id="reason")
            yield Static(f"enter {self.verb} · escape cancels", classes="hint")

    @on(Input.Submitted, "#reason")
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())


class ReassignDialog(ModalScreen[tuple[str, str | None] | None]):
    """Pick the agent, then the model, a task runs with; enter on the model confirms."""

    DEFAULT_CSS = DIALOG_CSS % "ReassignDialog" + """
    ReassignDialog Horizontal { height: auto; }
    ReassignDialog OptionList { width: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel", id="dialog.cancel")]

    def __init__(self, task_id: str, agents: list[str], models: list[str], agent: str, model: str | None) -> None:
        super().__init__()
        self.task_id = task_id
        self.agents = agents
        self.models = models
        self.agent = agent
        self.model = model

    def compose(self) -> "ComposeResult":
        with Vertical() as box:
            box.border_title = f"Reassign {self.task_id}"
            with Horizontal():
                yield OptionList(*[Option(name, id=name) for name in self.agents], id="agents")
                yield OptionList(*[Option(name) for name in self.models], id="models")
            yield Static("enter picks the agent, then the model · tab switches list · escape cancels", classes="hint")

    def on_mount(self) -> None:
        agents, models = self.query_one("#agents", OptionList), self.query_one("#models", OptionList)
        agents.border_title, models.border_title = "Agent", "Model"
        agents.highlighted = self.agents.index(self.agent) if self.agent in self.agents else 0
        models.highlighted = self.models.index(self.model) if self.model in self.models else 0
        agents.focus()

    @on(OptionList.OptionSelected, "#agents")
    def _agent_picked(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#models").focus()

    @on(OptionList.OptionSelected, "#models")
    def _model_picked(self, event: OptionList.OptionSelected) -> None:
        agents = self.query_one("#agents", OptionList)
        agent = self.agents[agents.highlighted or 0]
        self.dismiss((agent, self.models[event.option_index]))


class TaskForm(ModalScreen[dict[str, Any] | None]):
    """A task's title, brief (description) and dependencies; a new task also gets an id and an agent."""

    DEFAULT_CSS = DIALOG_CSS % "TaskForm"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="dialog.cancel"),
        Binding("ctrl+s", "save", "Save", id="dialog.save", priority=True),
    ]

    def __init__(self, *, task: dict[str, Any] | None = None, agents: list[str] | None = None,
                 suggested_id: str = "", default_deps: list[str] | None = None) -> None:
        super().__init__()
        self.task_fields = task  # None: a new task
        self.agents = agents or []
        self.suggested_id = suggested_id
        self.default_deps = default_deps or []

    def compose(self) -> "ComposeResult":
        task = self.task_fields or {}
        with Vertical() as box:
            box.border_title = f"Edit {task['id']}" if self.task_fields else "New task"
            if self.task_fields is None:
                yield Label("Id", classes="field-label")
                yield Input(self.suggested_id, id="task-id")
                yield Label("Agent", classes="field-label")
                agents = [(name, name) for name in self.agents]
                yield Select(agents, value="coder" if "coder" in self.agents else self.agents[0], allow_blank=False, id="agent")
            yield Label("Title", classes="field-label")
            yield Input(task.get("title", ""), id="title")
            yield Label("Brief (what the agent should do)", classes="field-label")
            yield TextArea(task.get("description", ""), id="description", soft_wrap=True)
            yield Label("Depends on (task ids, comma separated)", classes="field-label")
            yield Input(", ".join(task.get("depends_on", self.default_deps)), id="depends-on")
            yield Static("ctrl+s saves · escape cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#task-id" if self.task_fields is None else "#title").focus()

    def action_save(self) -> None:
        title = self.query_one("#title", Input).value.strip()
        if not title:
            self.notify("A task needs a title.", severity="error")
            return
        answer: dict[str, Any] = {
            "title": title,
            "description": self.query_one("#description", TextArea).text.strip(),
            "depends_on": split_ids(self.query_one("#depends-on", Input).value),
        }
        if self.task_fields is None:
            answer["id"] = self.query_one("#task-id", Input).value.strip()
            answer["agent"] = self.query_one("#agent", Select).value
        self.dismiss(answer)


class TextEditor(ModalScreen[str | None]):
    """Edit a text (the shared context every agent reads) in a TextArea."""

    DEFAULT_CSS = DIALOG_CSS % "TextEditor" + """
    TextEditor > Vertical { width: 100; height: 80%; }
    TextEditor TextArea { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="dialog.cancel"),
        Binding("ctrl+s", "save", "Save", id="dialog.save", priority=True),
    ]

    def __init__(self, title: str, text: str, explanation: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.explanation = explanation

    def compose(self) -> "ComposeResult":
        with Vertical() as box:
            box.border_title = self.title_text
            if self.explanation:
                yield Static(self.explanation, classes="hint")
            yield TextArea(self.text, id="text", soft_wrap=True)
            yield Static("ctrl+s saves · escape cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)


class GoalPrompt(ModalScreen[str | None]):
    """Ask what the session should achieve."""

    DEFAULT_CSS = DIALOG_CSS % "GoalPrompt"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel", id="dialog.cancel")]

    def compose(self) -> "ComposeResult":
        with Vertical() as box:
            box.border_title = "What should the agents do?"
            yield Input(placeholder="e.g. Add a --json flag to the CLI, with tests and docs", id="goal")
            yield Static("enter starts the session · escape quits", classes="hint")

    @on(Input.Submitted, "#goal")
    def _submit(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())


class ConfirmQuit(ModalScreen[bool]):
    """Quit while agents are at work? The session stays resumable either way."""

    DEFAULT_CSS = DIALOG_CSS % "ConfirmQuit" + """
    ConfirmQuit Horizontal { height: auto; align: right middle; margin-top: 1; }
    ConfirmQuit Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "dismiss(False)", "Stay", id="dialog.cancel"),
        Binding("y", "dismiss(True)", "Quit", id="dialog.confirm"),
    ]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> "ComposeResult":
        with Vertical() as box:
            box.border_title = "Quit?"
            yield Static(self.message)
            with Horizontal():
                yield Button("Stay (n)", id="stay")
                yield Button("Quit (y)", id="quit", variant="error")

    def on_mount(self) -> None:
        self.query_one("#stay").focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit")


class HelpScreen(ModalScreen[None]):
    """Every key of the cockpit (as currently mapped) and the help of the pane you were in."""

    DEFAULT_CSS = DIALOG_CSS % "HelpScreen" + """
    HelpScreen > Vertical { width: 90; height: 90%; }
    HelpScreen VerticalScroll { height: 1fr; }
    HelpScreen #keys { padding: 1 1 0 1; }
    HelpScreen Markdown { margin: 0; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss(None)", "Close", id="dialog.cancel"),
    ]

    def __init__(self, keys: list[tuple[str, str]], pane_help: str = "") -> None:
        super().__init__()
        self.keys = keys
        self.pane_help = pane_help

    def compose(self) -> "ComposeResult":
        width = max((len(key) for key, _ in self.keys), default=1)
        keys = Text()
        for key, what in self.keys:
            keys.append(f"{key:>{width}}  ", style="bold")
            keys.append(f"{what}\n")
        with Vertical() as box:
            box.border_title = "Help"
            with VerticalScroll():
                yield Static(keys, id="keys")
                yield Markdown(self.pane_help.strip())
            yield Static(Content("escape closes · keys are remapped in the [keys] table of config.toml"), classes="hint")
