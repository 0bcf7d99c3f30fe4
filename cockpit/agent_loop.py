"""The agent loop: call the model, stream its text, run its tool calls, feed back the observations, repeat.

Everything around the loop (tools, limits, streaming, events) is a small piece handed in; the loop itself stays
plain enough to read in one sitting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from . import context
from .tools import ENGINE_TOOLS, ToolOutcome, schemas_for

if TYPE_CHECKING:
    from .agentdefs import AgentDef
    from .llm import LLMClient, Turn
    from .session import Session
    from .tools import Toolbox

MAX_STEPS = 60
MAX_NUDGES = 2
NUDGE = "Continue with the task using the tools. When it is complete, call finish{summary}."
EngineTool = Callable[[str, dict[str, Any]], Awaitable[ToolOutcome]]


class StepLimit(Exception):
    pass


@dataclass
class AgentLoop:
    session: "Session"
    task_id: str
    agent: "AgentDef"
    model: str
    llm: "LLMClient"
    toolbox: "Toolbox"
    system: str
    make_brief: Callable[[], str]
    engine_tool: EngineTool
    before_call: Callable[[], Awaitable[None]]
    window_tokens: int = context.DEFAULT_WINDOW_TOKENS

    def __post_init__(self) -> None:
        self.history: list[dict[str, Any]] = []
        self._notes: list[str] = []  # notes that arrive mid-turn wait here, so tool results stay next to their calls
        self.tools = schemas_for(list(self.agent.tools) if self.agent.tools is not None else None)
        self.allowed = {schema["function"]["name"] for schema in self.tools}

    def add_user_message(self, text: str) -> None:
        self.history.append({"role": "user", "content": text})

    def add_note(self, text: str) -> None:
        """A note for the agent's next call (the user edited a file it works on), safe to add at any moment."""
        self._notes.append(text)

    async def run(self) -> str:
        """Run until the agent calls finish; return its summary."""
        nudges = 0
        for _ in range(MAX_STEPS):
            turn = await self._call_model()
            self.history.append(_assistant_message(turn))
            if not turn.tool_calls:
                if nudges >= MAX_NUDGES:
                    return turn.text.strip() or "finished without a summary"
                nudges += 1
                self.add_user_message(NUDGE)
                continue
            summary = None
            for call in turn.tool_calls:
                outcome = await self._run_tool(call.name, call.arguments, call.error)
                self.history.append({"role": "tool", "tool_call_id": call.id, "content": outcome.output})
                if call.name == "finish" and outcome.ok:
                    summary = outcome.output
            if summary is not None:
                return summary
        raise StepLimit(f"task {self.task_id}: stopped after {MAX_STEPS} model calls without finishing")

    async def _call_model(self) -> "Turn":
        from .llm import LLMError

        await self.before_call()
        while self._notes:
            self.add_user_message(self._notes.pop(0))
        brief = self.make_brief()
        context.fit_to_window(self.system, brief, self.history, self.window_tokens)
        on_text = lambda text: self.session.stream_text(self.task_id, self.agent.name, text)  # noqa: E731
        for attempt in range(2):
            messages = context.build_messages(self.system, brief, self.history)
            try:
                turn = await self.llm.stream_turn(
                    model=self.model,
                    messages=messages,
                    tools=self.tools,
                    on_text=on_text,
                    metadata={"cockpit_role": self.agent.name, "cockpit_task": self.task_id},
                )
                break
            except LLMError as exc:
                # The provider says we overflowed its window: condense everything old and try once more.
                if exc.kind != "context_window" or attempt or not context.condense(self.history, keep_last=2):
                    raise
        self.session.flush_text()
        self.session.emit(
            "usage",
            task_id=self.task_id,
            model=turn.model or self.model,
            prompt_tokens=turn.prompt_tokens,
            completion_tokens=turn.completion_tokens,
            cost_usd=turn.cost_usd,
        )
        return turn

    async def _run_tool(self, name: str, args: dict[str, Any], parse_error: str | None) -> ToolOutcome:
        self.session.emit("tool_called", task_id=self.task_id, tool=name, args=args)
        if parse_error:
            outcome = ToolOutcome(False, f"error: arguments were not valid JSON ({parse_error}); send them again", "bad arguments")
        elif name not in self.allowed:
            outcome = ToolOutcome(False, f"error: tool {name!r} is not available to the {self.agent.name} agent", "not allowed")
        elif name in ENGINE_TOOLS:
            outcome = await self.engine_tool(name, args)
        else:
            outcome = await self.toolbox.call(name, args)
        self.session.emit("tool_result", task_id=self.task_id, tool=name, ok=outcome.ok, summary=outcome.summary)
        if outcome.data is not None and hasattr(outcome.data, "to_event"):
            self.session.emit("tests_finished", task_id=self.task_id, **outcome.data.to_event())
        return outcome


def _assistant_message(turn: "Turn") -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if turn.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in turn.tool_calls
        ]
    return message
