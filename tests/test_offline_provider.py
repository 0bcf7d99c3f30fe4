"""The offline model goes through litellm.acompletion like any provider: OpenAI-shaped deltas, deterministic."""

from __future__ import annotations

import sys
import time
import types
from typing import Any

import pytest

from cockpit import llm
from cockpit.offline import provider
from cockpit.offline.turns import ScriptedTurn

TEXT = "I will read the module first, then write a failing test."
TOOL = ("read_file", {"path": "src/calc.py"})
MESSAGES = [{"role": "system", "content": "You are the coder."}, {"role": "user", "content": "Add a divide function."}]


@pytest.fixture(scope="module")
def litellm() -> Any:
    return llm._import_litellm()  # pay the 3 s import once for the module


@pytest.fixture
def script_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[dict[str, Any]]]]:
    """Stand in for cockpit.offline.scripts (written elsewhere): always the same turn; records who asked."""
    calls: list[tuple[str, list[dict[str, Any]]]] = []

    def next_turn(role: str, messages: list[dict[str, Any]]) -> ScriptedTurn:
        calls.append((role, messages))
        return ScriptedTurn(TEXT, [TOOL])

    monkeypatch.setitem(sys.modules, "cockpit.offline.scripts", types.SimpleNamespace(next_turn=next_turn))
    return calls


@pytest.fixture(autouse=True)
def no_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provider, "_rate_override", None)
    monkeypatch.setenv(provider.RATE_ENV, "0")


async def offline_turn(on_text: Any) -> llm.Turn:
    return await llm.LLMClient().stream_turn(model="offline", messages=MESSAGES, tools=None, on_text=on_text,
                                             metadata={"cockpit_role": "coder"})


async def test_offline_stream_comes_out_of_litellm_as_openai_deltas(litellm: Any, script_calls: list) -> None:
    stream = await litellm.acompletion(model="offline/cockpit", messages=MESSAGES, stream=True,
                                       stream_options={"include_usage": True}, metadata={"cockpit_role": "tester"})
    chunks = [chunk async for chunk in stream]
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    tool_deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or []]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    usage = [c.usage for c in chunks if getattr(c, "usage", None)]
    assert script_calls[0][0] == "tester"  # the role travelled in the call's metadata
    assert texts == ["I ", "will ", "read ", "the ", "module ", "first, ", "then ", "write ", "a ", "failing ", "test."]
    assert tool_deltas[0].function.name == "read_file" and tool_deltas[0].id.startswith("call_")
    assert len(tool_deltas) > 1 and all(d.index == 0 for d in tool_deltas)  # arguments arrive in pieces
    assert "".join(d.function.arguments for d in tool_deltas) == '{"path": "src/calc.py"}'
    assert finishes == ["tool_calls"]
    assert usage[-1].completion_tokens == len(texts) + len(tool_deltas) and usage[-1].prompt_tokens > 0


async def test_offline_turn_is_assembled_by_llm_client_and_is_deterministic(script_calls: list) -> None:
    received: list[str] = []
    first = await offline_turn(received.append)
    second = await offline_turn(lambda _text: None)
    assert first == second
    assert first.text == TEXT == "".join(received)
    assert [(c.name, c.arguments, c.error) for c in first.tool_calls] == [(*TOOL, None)]
    assert first.model == "offline/cockpit" and first.cost_usd == 0.0 and first.finish_reason == "tool_calls"
    assert first.prompt_tokens == provider.prompt_tokens(MESSAGES)
    assert script_calls[0][0] == "coder"


async def test_offline_non_streaming_completion(litellm: Any, script_calls: list) -> None:
    response = await litellm.acompletion(model="offline/cockpit", messages=MESSAGES, metadata={"cockpit_role": "docs"})
    message = response.choices[0].message
    assert message.content == TEXT
    assert [(c.function.name, c.function.arguments) for c in message.tool_calls] == [("read_file",
                                                                                     '{"path": "src/calc.py"}')]
    assert response.choices[0].finish_reason == "tool_calls" and response.usage.prompt_tokens > 0
    assert script_calls[0][0] == "docs"


def test_offline_sync_completion(litellm: Any, script_calls: list) -> None:
    response = litellm.completion(model="offline/cockpit", messages=MESSAGES)
    assert response.choices[0].message.content == TEXT
    assert script_calls[0][0] == provider.DEFAULT_ROLE  # no metadata: the default role


async def test_rate_zero_streams_a_long_turn_without_delay(monkeypatch: pytest.MonkeyPatch, litellm: Any) -> None:
    # Distinct words: litellm treats ~100 identical chunks in a row as a model stuck in a loop.
    long_text = "".join(f"word{i} " for i in range(2000))
    monkeypatch.setitem(sys.modules, "cockpit.offline.scripts",
                        types.SimpleNamespace(next_turn=lambda role, messages: ScriptedTurn(long_text)))
    started = time.monotonic()
    turn = await llm.LLMClient().stream_turn(model="offline", messages=MESSAGES, tools=None, on_text=lambda _t: None)
    assert turn.text == long_text and turn.completion_tokens == 2000
    assert time.monotonic() - started < 5  # at the default 60 tokens/s this would take 33 s


async def test_set_rate_paces_the_stream(litellm: Any, script_calls: list) -> None:
    provider.set_rate(100)  # 11 words + 3 argument pieces = 14 chunks: at least 0.13 s
    started = time.monotonic()
    await llm.LLMClient().stream_turn(model="offline", messages=MESSAGES, tools=None, on_text=lambda _t: None)
    assert time.monotonic() - started >= 0.13


def test_rate_comes_from_set_rate_then_env_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(provider.RATE_ENV, "25")
    assert provider.current_rate() == 25
    monkeypatch.setenv(provider.RATE_ENV, "fast")
    assert provider.current_rate() == provider.DEFAULT_RATE
    monkeypatch.delenv(provider.RATE_ENV)
    assert provider.current_rate() == provider.DEFAULT_RATE == 60
    provider.set_rate(0)
    assert provider.current_rate() == 0
    with pytest.raises(ValueError):
        provider.set_rate(-1)


def test_tool_call_ids_differ_between_turns_but_not_between_runs() -> None:
    later = [*MESSAGES, {"role": "assistant", "content": "ok"}]
    assert provider.call_id_prefix("coder", MESSAGES) == provider.call_id_prefix("coder", list(MESSAGES))
    assert provider.call_id_prefix("coder", MESSAGES) != provider.call_id_prefix("coder", later)
