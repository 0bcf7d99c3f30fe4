"""The one place that talks to litellm: load it lazily, check a model can run, stream a turn with retries.

litellm costs seconds and hundreds of MB to import, so nothing here imports it at module import time;
`load_litellm()` does, once, in a worker thread, after setting the env vars that keep it offline and quiet.

Retries are ours, not litellm's (`max_retries=0`): exponential backoff from `backoff` seconds (doubling, capped at
MAX_BACKOFF_S, no jitter so tests are deterministic), Retry-After honoured on 429, at most `max_attempts` attempts,
and a total `deadline` for the whole turn. Rate limits, 5xx, connection errors, timeouts, stalled streams (no chunk
for `stall_timeout`) and streams cut mid-way are retried; auth, bad requests, unknown models are not;
a context-window overflow is reported as kind "context_window" for the caller to condense and call again.

Text is passed to `on_text` as it streams, exactly once (see _TextRelay for the rule on retried streams); tool calls
are assembled from their deltas and only returned with the completed Turn.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .llm_errors import LLMError, classify, unknown_model_error
from .llm_footprint import MERGE_EVERY, defer_tokenizers, merge_text_chunks

__all__ = ["LLMClient", "LLMError", "ToolCall", "Turn", "load_litellm", "normalize_model", "preflight"]

OFFLINE_PROVIDER = "offline"
OFFLINE_MODEL = "offline/cockpit"
RETRY_MARKER = "\n[retrying]\n"
MAX_BACKOFF_S = 30.0
# Local OpenAI-compatible servers ignore the key, but the OpenAI SDK refuses to send a request without one.
PLACEHOLDER_API_KEY = "sk-no-key-needed"
# Providers that, given --api-base, are a local OpenAI-compatible server needing no real key.
_KEYLESS_WITH_API_BASE = frozenset({"openai", "text-completion-openai", "openai_like", "hosted_vllm", "lm_studio",
                                    "llamafile", "ollama", "ollama_chat", "custom_openai"})
_LITELLM_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_MODE": "PRODUCTION"}

_litellm: Any = None
_import_lock = threading.Lock()


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]
    error: str | None = None  # set when the model's arguments were not a JSON object (arguments is then {})


@dataclass
class Turn:
    text: str
    tool_calls: list[ToolCall]
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    finish_reason: str | None


def _import_litellm() -> Any:
    global _litellm
    with _import_lock:
        if _litellm is None:
            os.environ.update(_LITELLM_ENV)
            import litellm

            litellm.suppress_debug_info = True  # no "Provider List: ..." / "Give Feedback" prints on stdout
            # Its warnings go to stderr, under the TUI and into headless output; our own errors say what matters.
            for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
                logging.getLogger(name).setLevel(logging.ERROR)
            from .offline.provider import register

            register(litellm)
            defer_tokenizers(litellm)
            _litellm = litellm
    return _litellm


async def load_litellm() -> Any:
    """Import litellm once (in a thread, so the event loop keeps drawing) and register the offline provider."""
    if _litellm is not None:
        return _litellm
    return await asyncio.to_thread(_import_litellm)


def normalize_model(model: str) -> str:
    """The string litellm needs: `offline` is our custom provider's model `offline/cockpit`."""
    model = model.strip()
    return OFFLINE_MODEL if model == OFFLINE_PROVIDER else model


def _provider_of(litellm: Any, model: str) -> str:
    try:
        return str(litellm.get_llm_provider(model=model)[1])
    except Exception:
        raise unknown_model_error(model) from None


async def preflight(model: str, api_base: str | None) -> None:
    """Fail fast, with one clear line, for a model litellm cannot route or whose API key is missing."""
    litellm = await load_litellm()
    model = normalize_model(model)
    provider = _provider_of(litellm, model)
    if provider == OFFLINE_PROVIDER or (api_base and provider in _KEYLESS_WITH_API_BASE):
        return
    # An empty variable is a missing key, whatever litellm's presence check says.
    empty = {name: value for name, value in os.environ.items() if not value.strip() and _is_credential(name)}
    for name in empty:
        del os.environ[name]
    try:
        report = litellm.validate_environment(model=model, api_base=api_base)
    finally:
        os.environ.update(empty)
    # Only credentials count: OLLAMA_API_BASE or VERTEXAI_PROJECT have working defaults.
    missing = [name for name in report.get("missing_keys") or [] if _is_credential(name)]
    if missing:
        raise LLMError("auth", f"model {model} needs {', '.join(missing)} (or use --model offline)")


def _is_credential(name: str) -> bool:
    return any(part in name for part in ("KEY", "TOKEN", "SECRET"))


class _TextRelay:
    """Passes streamed text to on_text so that, across retries of one turn, the reader sees each character once.

    The rule: `seen` is the reply as the reader has it. A retried attempt's text is held back while it is a prefix
    of `seen`; once it extends past `seen`, only the part beyond is passed on. If it differs from `seen`, on_text
    gets RETRY_MARKER and then the new text from the first differing character, so the common part is not repeated
    and the change is visible. Without divergence, the concatenation of all on_text calls is the final text.
    """

    def __init__(self, on_text: Callable[[str], None]) -> None:
        self._on_text = on_text
        self.seen = ""
        self._attempt = ""
        self._live = True

    def start_attempt(self) -> None:
        self._attempt = ""
        self._live = not self.seen

    def feed(self, delta: str) -> None:
        self._attempt += delta
        if self._live:
            self._deliver(delta)
            return
        if self.seen.startswith(self._attempt):
            return  # still replaying what the reader already has
        if self._attempt.startswith(self.seen):
            self._live = True
            self._deliver(self._attempt[len(self.seen):])
            return
        self._live = True
        self._deliver(RETRY_MARKER + self._attempt[_common_prefix(self.seen, self._attempt):])

    def finish_attempt(self) -> None:
        if not self._live and self._attempt != self.seen:
            # The retried reply ended inside what the reader already saw: flag that the rest was dropped.
            self._deliver(RETRY_MARKER)

    def _deliver(self, text: str) -> None:
        self.seen = self._attempt
        if text:
            self._on_text(text)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _field(obj: Any, name: str) -> Any:
    """Deltas arrive as pydantic objects or plain dicts depending on the provider path."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


@dataclass
class _ToolCallParts:
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)

    def build(self, position: int) -> ToolCall:
        text = "".join(self.arguments).strip()
        call_id = self.id or f"call_{position}"
        name = self.name or ""
        if not text:
            return ToolCall(call_id, name, {})
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            return ToolCall(call_id, name, {}, error=f"invalid JSON: {exc.msg} at character {exc.pos}")
        if not isinstance(parsed, dict):
            return ToolCall(call_id, name, {}, error="arguments must be a JSON object")
        return ToolCall(call_id, name, parsed)


class _TurnAssembly:
    """Accumulates one attempt's chunks: text, tool-call deltas, finish reason, usage."""

    def __init__(self, relay: _TextRelay) -> None:
        self.relay = relay
        self.text: list[str] = []
        self.calls: list[_ToolCallParts] = []
        self.by_index: dict[Any, _ToolCallParts] = {}
        self.finish_reason: str | None = None
        self.usage: tuple[int, int] | None = None

    def add(self, chunk: Any) -> None:
        usage = _field(chunk, "usage")
        if usage is not None and _field(usage, "prompt_tokens") is not None:
            self.usage = (int(_field(usage, "prompt_tokens") or 0), int(_field(usage, "completion_tokens") or 0))
        for choice in _field(chunk, "choices") or []:
            if (_field(choice, "index") or 0) != 0:
                continue  # we ask for one choice
            delta = _field(choice, "delta")
            content = _field(delta, "content")
            if content:
                self.text.append(content)
                self.relay.feed(content)
            for tool_delta in _field(delta, "tool_calls") or []:
                self._add_tool_delta(tool_delta)
            if _field(choice, "finish_reason"):
                self.finish_reason = _field(choice, "finish_reason")

    def _add_tool_delta(self, delta: Any) -> None:
        index, call_id = _field(delta, "index"), _field(delta, "id")
        function = _field(delta, "function")
        parts = self.by_index.get(index)
        # A new id at a known index is a new call (some providers number every call 0); a missing index continues
        # the latest call.
        if parts is None and index is None and self.calls and not call_id:
            parts = self.calls[-1]
        if parts is None or (call_id and parts.id and call_id != parts.id):
            parts = _ToolCallParts()
            self.calls.append(parts)
            self.by_index[index] = parts
        parts.id = parts.id or call_id
        parts.name = parts.name or _field(function, "name")
        arguments = _field(function, "arguments")
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments)
        if arguments:
            parts.arguments.append(arguments)

    def turn(self, model: str, messages: list[dict[str, Any]], cost: Callable[[str, int, int], float]) -> Turn:
        text = "".join(self.text)
        calls = [parts.build(position) for position, parts in enumerate(self.calls)]
        if self.usage is not None:
            prompt, completion = self.usage
        else:  # the provider ignored include_usage: estimate, about 4 characters a token
            prompt = len(json.dumps(messages, default=str)) // 4
            completion = (len(text) + sum(len("".join(p.arguments)) for p in self.calls)) // 4
        return Turn(text, calls, model, prompt, completion, cost(model, prompt, completion), self.finish_reason)


async def _close(stream: Any) -> None:
    """Release an abandoned (or finished) stream's connection; never raise from cleanup."""
    aclose = getattr(stream, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception:
        pass


class LLMClient:
    """Streams model turns through litellm with our own retries, stall detection and a total deadline."""

    def __init__(self, *, api_base: str | None = None, request_timeout: float = 120.0, stall_timeout: float = 60.0,
                 max_attempts: int = 5, deadline: float = 600.0, backoff: float = 0.5,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.api_base = api_base
        self.request_timeout = request_timeout
        self.stall_timeout = stall_timeout
        self.max_attempts = max(1, max_attempts)
        self.deadline = deadline
        self.backoff = backoff
        self._sleep = sleep
        self._clock = clock  # injected with `sleep` by tests, so the deadline follows the fake time

    async def stream_turn(self, *, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
                          on_text: Callable[[str], None], metadata: dict[str, Any] | None = None) -> Turn:
        litellm = await load_litellm()
        model = normalize_model(model)
        request = self._request(litellm, model, messages, tools, metadata)
        relay = _TextRelay(on_text)
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            remaining = self.deadline - (self._clock() - started)
            try:
                async with asyncio.timeout(remaining):
                    return await self._attempt(litellm, model, request, relay)
            except TimeoutError:
                # Only the deadline's own timeout gets here: stalls and provider timeouts became LLMError inside.
                raise LLMError("deadline", f"{model}: no complete reply within the {self.deadline:g} s deadline "
                                           f"(attempt {attempt})") from None
            except LLMError as error:
                if not error.retryable:
                    raise
                delay = self._delay(attempt, error)
                elapsed = self._clock() - started
                if attempt >= self.max_attempts or elapsed + delay >= self.deadline:
                    raise LLMError("deadline", f"gave up after {attempt} attempt(s) in {elapsed:.1f} s: {error}",
                                   cause=error) from None
                await self._sleep(delay)

    def _delay(self, attempt: int, error: LLMError) -> float:
        if error.retry_after is not None:
            return error.retry_after
        return min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF_S)

    def _request(self, litellm: Any, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
                 metadata: dict[str, Any] | None) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": model, "messages": messages, "stream": True, "stream_options": {"include_usage": True},
            "max_retries": 0, "timeout": self.request_timeout, "metadata": dict(metadata or {}),
        }
        if tools:
            request["tools"] = tools
        if self.api_base and not model.startswith(OFFLINE_PROVIDER + "/"):
            request["api_base"] = self.api_base
            provider = _provider_of(litellm, model)
            if provider in _KEYLESS_WITH_API_BASE and not os.environ.get("OPENAI_API_KEY"):
                request["api_key"] = PLACEHOLDER_API_KEY
        return request

    async def _attempt(self, litellm: Any, model: str, request: dict[str, Any], relay: _TextRelay) -> Turn:
        relay.start_attempt()
        try:
            stream = await litellm.acompletion(**request)
        except Exception as exc:
            raise classify(exc, model, litellm) from exc
        assembly = _TurnAssembly(relay)
        try:
            async with _StallWatch(self.stall_timeout) as watch:
                await self._read(litellm, model, stream, assembly, watch)
        except TimeoutError:
            raise LLMError("timeout", f"{model}: the stream stalled (no data for {self.stall_timeout:g} s)") from None
        finally:
            await _close(stream)  # also on cancellation and on errors: frees the connection
        relay.finish_attempt()
        return assembly.turn(model, request["messages"], lambda m, p, c: _cost(litellm, m, p, c))

    @staticmethod
    async def _read(litellm: Any, model: str, stream: Any, assembly: _TurnAssembly, watch: "_StallWatch") -> None:
        chunks = stream.__aiter__()
        read = 0
        while True:
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            except Exception as exc:
                raise classify(exc, model, litellm) from exc
            watch.seen()
            assembly.add(chunk)
            read += 1
            if read % MERGE_EVERY == 0:
                merge_text_chunks(stream)  # litellm keeps every chunk until the stream ends (see llm_footprint)
            if assembly.finish_reason is not None and assembly.usage is not None:
                # The turn is complete. Reading on would only let litellm rebuild the whole response from every
                # chunk in a worker thread, which stalls the loop when many streams end together (bench).
                return


class _StallWatch:
    """A stall timeout for a whole stream: it expires once no chunk has come for `seconds`, and a chunk costs one
    clock read. One asyncio.timeout pushed back by a watchdog, not one re-armed per chunk (a timer per chunk was a
    measurable share of a fast stream's cost); asyncio.timeout, not wait_for: 3.11's wait_for can swallow a
    cancellation that races a chunk. Raises TimeoutError on exit when it expired."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._deadline = asyncio.timeout(None)

    async def __aenter__(self) -> "_StallWatch":
        await self._deadline.__aenter__()
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()
        self._handle = self._loop.call_at(self._last + self._seconds, self._check)
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        self._handle.cancel()
        return await self._deadline.__aexit__(*exc_info)

    def seen(self) -> None:
        self._last = self._loop.time()

    def _check(self) -> None:
        due = self._last + self._seconds
        if self._loop.time() >= due:
            self._deadline.reschedule(self._loop.time())  # expires now: the read is cancelled, TimeoutError follows
        else:
            self._handle = self._loop.call_at(due, self._check)


def _cost(litellm: Any, model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """Dollar cost when litellm knows the model's prices; 0 otherwise (local servers, the offline model)."""
    if model.startswith(OFFLINE_PROVIDER + "/"):
        return 0.0
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        return float(prompt_cost) + float(completion_cost)
    except Exception:
        return 0.0
