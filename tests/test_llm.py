"""LLMClient through the real litellm path against a real local OpenAI-compatible server with scripted faults."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit import llm
from cockpit.llm import LLMClient, LLMError
from openai_server import FakeOpenAI, ScriptedResponse

MESSAGES = [{"role": "system", "content": "You are a coder."}, {"role": "user", "content": "Fix the bug."}]
TOOLS = [{"type": "function", "function": {"name": "read_file", "description": "Read a file",
                                           "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                                                          "required": ["path"]}}}]
LONG_TEXT = "The quick brown fox jumps over the lazy dog, then reads the failing test and fixes it."
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def litellm_loaded() -> None:
    llm._import_litellm()  # pay the 3 s import once for the module


@pytest.fixture(autouse=True)
def no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)


class FakeTime:
    """An injected sleep and clock: retries are instant and the deadline follows the simulated time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def client(server: FakeOpenAI, fake_time: FakeTime, **options: float) -> LLMClient:
    settings = {"stall_timeout": 5.0, "request_timeout": 10.0, **options}
    return LLMClient(api_base=server.base_url, sleep=fake_time.sleep, clock=fake_time.clock, **settings)


async def run_turn(server: FakeOpenAI, fake_time: FakeTime, **options: float) -> tuple[llm.Turn, list[str]]:
    received: list[str] = []
    turn = await client(server, fake_time, **options).stream_turn(
        model="openai/gpt-4.1", messages=MESSAGES, tools=TOOLS, on_text=received.append,
        metadata={"cockpit_role": "coder", "cockpit_task": "t1"})
    return turn, received


async def test_text_and_tool_call_are_streamed_and_assembled(fake_time: FakeTime) -> None:
    reply = ScriptedResponse(text=LONG_TEXT, tool_calls=[("read_file", {"path": "src/app.py"})],
                             prompt_tokens=120, completion_tokens=30)
    async with FakeOpenAI([reply]) as server:
        turn, received = await run_turn(server, fake_time)
    assert turn.text == LONG_TEXT
    assert len(received) > 5 and "".join(received) == LONG_TEXT  # streamed in pieces, each once
    assert [(c.name, c.arguments, c.error) for c in turn.tool_calls] == [("read_file", {"path": "src/app.py"}, None)]
    assert turn.tool_calls[0].id == "call_0_0"
    assert (turn.prompt_tokens, turn.completion_tokens, turn.finish_reason) == (120, 30, "tool_calls")
    assert turn.model == "openai/gpt-4.1" and turn.cost_usd > 0  # litellm knows gpt-4.1's prices
    request = server.requests[0]
    assert request.body["stream"] is True and request.body["stream_options"] == {"include_usage": True}
    assert request.body["tools"] == TOOLS and "metadata" not in request.body
    assert request.headers["authorization"] == f"Bearer {llm.PLACEHOLDER_API_KEY}"
    assert fake_time.sleeps == []


async def test_malformed_tool_arguments_give_empty_arguments_and_an_error(fake_time: FakeTime) -> None:
    async with FakeOpenAI([ScriptedResponse(tool_calls=[("read_file", '{"path": "a.py"')])]) as server:
        turn, _ = await run_turn(server, fake_time)
    (call,) = turn.tool_calls
    assert call.name == "read_file" and call.arguments == {} and call.error and "JSON" in call.error


async def test_rate_limit_is_retried_after_the_retry_after_delay(fake_time: FakeTime) -> None:
    script = [ScriptedResponse.status_error(429, retry_after="7"), ScriptedResponse(text="done")]
    async with FakeOpenAI(script) as server:
        turn, _ = await run_turn(server, fake_time)
    assert turn.text == "done" and len(server.requests) == 2
    assert fake_time.sleeps == [7.0]  # the server's Retry-After, not our 0.5 s backoff


async def test_rate_limit_with_retry_after_zero_retries_at_once(fake_time: FakeTime) -> None:
    script = [ScriptedResponse.status_error(429, retry_after="0"), ScriptedResponse(text="done")]
    async with FakeOpenAI(script) as server:
        turn, _ = await run_turn(server, fake_time)
    assert turn.text == "done" and fake_time.sleeps == [0.0]


async def test_server_error_is_retried_with_exponential_backoff(fake_time: FakeTime) -> None:
    script = [ScriptedResponse.status_error(500), ScriptedResponse.status_error(503), ScriptedResponse(text="ok")]
    async with FakeOpenAI(script) as server:
        turn, _ = await run_turn(server, fake_time, backoff=0.5)
    assert turn.text == "ok" and len(server.requests) == 3
    assert fake_time.sleeps == [0.5, 1.0]


async def test_stream_cut_midway_is_retried_and_text_reaches_on_text_exactly_once(fake_time: FakeTime) -> None:
    tool = ("read_file", {"path": "README.md"})
    script = [ScriptedResponse(text=LONG_TEXT, cut_after=6), ScriptedResponse(text=LONG_TEXT, tool_calls=[tool])]
    async with FakeOpenAI(script) as server:
        turn, received = await run_turn(server, fake_time)
    assert len(server.requests) == 2 and len(fake_time.sleeps) == 1
    assert "".join(received) == turn.text == LONG_TEXT
    assert [(c.name, c.arguments) for c in turn.tool_calls] == [tool]


async def test_stream_cut_during_tool_call_returns_no_partial_tool_call(fake_time: FakeTime) -> None:
    tool = ("write_file", {"path": "a.py", "content": "print('hello world')\n"})
    # role + 1 text chunk + tool opening + 2 argument pieces, then the cut.
    script = [ScriptedResponse(text="ok", tool_calls=[tool], cut_after=5),
              ScriptedResponse(text="ok", tool_calls=[tool])]
    async with FakeOpenAI(script) as server:
        turn, received = await run_turn(server, fake_time)
    assert [(c.name, c.arguments, c.error) for c in turn.tool_calls] == [(*tool, None)]
    assert "".join(received) == "ok"


async def test_malformed_chunk_is_retried(fake_time: FakeTime) -> None:
    script = [ScriptedResponse(text=LONG_TEXT, malformed_after=4), ScriptedResponse(text=LONG_TEXT)]
    async with FakeOpenAI(script) as server:
        turn, received = await run_turn(server, fake_time)
    assert len(server.requests) == 2 and "".join(received) == turn.text == LONG_TEXT


async def test_retried_stream_that_diverges_marks_the_change(fake_time: FakeTime) -> None:
    script = [ScriptedResponse(text="Hello world", cut_after=3), ScriptedResponse(text="Help is here")]
    async with FakeOpenAI(script) as server:
        turn, received = await run_turn(server, fake_time)
    assert turn.text == "Help is here"
    # "Hell" and "o wo" were shown; the retry agrees up to "Hel", then differs.
    assert "".join(received) == "Hello wo" + llm.RETRY_MARKER + "p is here"


async def test_stalled_stream_is_abandoned_after_stall_timeout_and_retried(fake_time: FakeTime) -> None:
    script = [ScriptedResponse(text=LONG_TEXT, stall_after=4), ScriptedResponse(text=LONG_TEXT)]
    async with FakeOpenAI(script) as server:
        turn, received = await run_turn(server, fake_time, stall_timeout=0.2)
        await asyncio.wait_for(server.requests[0].abandoned.wait(), 5)  # the stalled connection was closed
    assert "".join(received) == turn.text == LONG_TEXT
    assert len(fake_time.sleeps) == 1


async def test_cancelled_turn_closes_its_stream() -> None:
    first_text = asyncio.Event()
    async with FakeOpenAI([ScriptedResponse(text=LONG_TEXT, stall_after=3)]) as server:
        turn = asyncio.create_task(LLMClient(api_base=server.base_url).stream_turn(
            model="openai/gpt-4.1", messages=MESSAGES, tools=None, on_text=lambda _text: first_text.set()))
        await asyncio.wait_for(first_text.wait(), 5)
        turn.cancel()
        with pytest.raises(asyncio.CancelledError):
            await turn
        await asyncio.wait_for(server.requests[0].abandoned.wait(), 5)


async def test_unauthorized_is_not_retried_and_the_message_hides_the_key(fake_time: FakeTime) -> None:
    secret = "sk-live-abcdef0123456789"
    async with FakeOpenAI([ScriptedResponse.status_error(401, f"Incorrect API key provided: {secret}")]) as server:
        with pytest.raises(LLMError) as caught:
            await run_turn(server, fake_time)
    error = caught.value
    assert error.kind == "auth" and not error.retryable
    assert len(server.requests) == 1 and fake_time.sleeps == []
    assert secret not in str(error) and "\n" not in str(error) and "401" in str(error)


async def test_context_window_overflow_is_reported_for_condensing(fake_time: FakeTime) -> None:
    async with FakeOpenAI([ScriptedResponse.context_window_error()]) as server:
        with pytest.raises(LLMError) as caught:
            await run_turn(server, fake_time)
    assert caught.value.kind == "context_window" and len(server.requests) == 1


async def test_retries_give_up_at_the_deadline(fake_time: FakeTime) -> None:
    always_failing = lambda _request, _index: ScriptedResponse.status_error(500)  # noqa: E731
    async with FakeOpenAI(always_failing) as server:
        with pytest.raises(LLMError) as caught:
            await run_turn(server, fake_time, backoff=1.0, deadline=3.0, max_attempts=10)
    error = caught.value
    # Attempt 1 fails, wait 1 s; attempt 2 fails, and waiting 2 s more would reach the 3 s deadline.
    assert error.kind == "deadline" and fake_time.sleeps == [1.0] and len(server.requests) == 2
    assert error.cause is not None and error.cause.kind == "provider"


async def test_retries_give_up_after_max_attempts(fake_time: FakeTime) -> None:
    always_limited = lambda _request, _index: ScriptedResponse.status_error(429, retry_after="0")  # noqa: E731
    async with FakeOpenAI(always_limited) as server:
        with pytest.raises(LLMError) as caught:
            await run_turn(server, fake_time, max_attempts=3)
    assert caught.value.kind == "deadline" and caught.value.cause.kind == "rate_limit"
    assert len(server.requests) == 3


async def test_preflight_refuses_a_model_litellm_cannot_route() -> None:
    with pytest.raises(LLMError) as caught:
        await llm.preflight("nosuchprovider/x", None)
    assert caught.value.kind == "model" and "nosuchprovider/x" in str(caught.value)


async def test_preflight_names_the_missing_api_key() -> None:
    with pytest.raises(LLMError) as caught:
        await llm.preflight("anthropic/claude-sonnet-4-5", None)
    assert caught.value.kind == "auth"
    assert str(caught.value) == "model anthropic/claude-sonnet-4-5 needs ANTHROPIC_API_KEY (or use --model offline)"


async def test_preflight_accepts_a_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000000000")
    await llm.preflight("anthropic/claude-sonnet-4-5", None)


async def test_preflight_needs_no_key_for_a_local_openai_compatible_server() -> None:
    await llm.preflight("openai/qwen2.5-coder", "http://127.0.0.1:8000/v1")
    await llm.preflight("offline", None)


def test_normalize_model_maps_offline_to_the_custom_provider() -> None:
    assert llm.normalize_model("offline") == "offline/cockpit"
    assert llm.normalize_model("openai/gpt-4.1") == "openai/gpt-4.1"


def test_importing_cockpit_llm_does_not_import_litellm() -> None:
    code = "import sys, cockpit.llm, cockpit.offline.provider; assert 'litellm' not in sys.modules, 'litellm loaded'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)


async def test_a_turn_prints_nothing_on_stdout(capfd: pytest.CaptureFixture[str], fake_time: FakeTime) -> None:
    # Preflight failures, a provider error and a model without known prices must not print (the TUI owns stdout).
    for model in ("nosuchprovider/x", "anthropic/claude-sonnet-4-5"):
        with pytest.raises(LLMError):
            await llm.preflight(model, None)
    script = [ScriptedResponse.status_error(500), ScriptedResponse(text="hi", tool_calls=[("finish", {})])]
    async with FakeOpenAI(script) as server:
        turn = await client(server, fake_time).stream_turn(
            model="openai/unpriced-local-model", messages=MESSAGES, tools=None, on_text=lambda _text: None)
    assert turn.cost_usd == 0.0
    assert capfd.readouterr().out == ""


def test_server_thread_serves_a_subprocess_style_client() -> None:
    # The CLI tests drive `cockpit run --api-base` in a subprocess against a server in a background thread.
    import urllib.request

    with FakeOpenAI.run_in_thread([ScriptedResponse(text="hi")]) as handle:
        body = json.dumps({"model": "m", "messages": [], "stream": False}).encode()
        request = urllib.request.Request(handle.base_url + "/chat/completions", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = json.loads(response.read())
        assert reply["choices"][0]["message"]["content"] == "hi"
        assert handle.requests[0].body["model"] == "m"


def test_error_messages_are_one_line_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "plain-secret-value-42")
    error = LLMError("provider", "failed:\n Authorization: Bearer abc.def-123 url=https://x/y?key=AIzaSyA12345678901234567890"
                                 " with plain-secret-value-42")
    text = str(error)
    assert "\n" not in text and "abc.def" not in text and "AIza" not in text and "plain-secret" not in text
    assert error.retryable and LLMError("auth", "x").retryable is False
