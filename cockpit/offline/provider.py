"""The built-in offline model: a litellm custom provider that streams scripted, deterministic turns.

`--model offline` goes through exactly the same `litellm.acompletion` path as a real provider: cockpit.llm
registers this handler under the provider name `offline` (`litellm.custom_provider_map`), and litellm turns the
GenericStreamingChunks yielded here into ordinary OpenAI-shaped deltas (text, then tool calls, then usage).

What to say comes from `cockpit.offline.scripts.next_turn(role, messages)`; the role is the `cockpit_role` that
LLMClient puts in the call's metadata, which litellm hands a CustomLLM as `litellm_params["metadata"]`.

This module does not import litellm at import time (so `set_rate` is cheap to call from the CLI): the handler class
is built by `register(litellm)`, called by cockpit.llm once litellm is loaded.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from .turns import ScriptedTurn

PROVIDER = "offline"
DEFAULT_RATE = 60.0  # tokens per second: fast enough to demo, slow enough to watch agents work side by side
RATE_ENV = "COCKPIT_OFFLINE_RATE"
DEFAULT_ROLE = "default"  # when a call carries no cockpit_role metadata
ARGUMENT_PIECE_CHARS = 12  # tool arguments are streamed in pieces this long, as real providers do
TICK_S = 0.005  # a stream sends at most one chunk per tick (200 a second): what fell due in between goes together

_rate_override: float | None = None
_WORDS = re.compile(r"\s*\S+\s*|\s+")  # word-sized pieces that keep their whitespace, so they join back exactly


def set_rate(tokens_per_s: float) -> None:
    """Stream at this many tokens (chunks) per second from now on; 0 means no delay at all."""
    global _rate_override
    if tokens_per_s < 0:
        raise ValueError("the offline model's rate must be 0 (no delay) or a positive number of tokens per second")
    _rate_override = float(tokens_per_s)


def current_rate() -> float:
    """set_rate wins; then $COCKPIT_OFFLINE_RATE; then DEFAULT_RATE. A malformed env value falls back to the default."""
    if _rate_override is not None:
        return _rate_override
    try:
        rate = float(os.environ.get(RATE_ENV, DEFAULT_RATE))
    except ValueError:
        return DEFAULT_RATE
    return rate if rate >= 0 else DEFAULT_RATE


def role_of(litellm_params: dict[str, Any] | None, optional_params: dict[str, Any] | None) -> str:
    """The cockpit role of a call: litellm passes acompletion(metadata=...) to a CustomLLM in litellm_params."""
    for params in (litellm_params, optional_params):
        metadata = (params or {}).get("metadata") or {}
        if isinstance(metadata, dict) and metadata.get("cockpit_role"):
            return str(metadata["cockpit_role"])
    return DEFAULT_ROLE


def scripted_turn(role: str, messages: list[dict[str, Any]]) -> ScriptedTurn:
    # Looked up through sys.modules on every call so tests can substitute the scripts module.
    scripts = importlib.import_module("cockpit.offline.scripts")
    return scripts.next_turn(role, messages)


def estimate_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return estimate_tokens(json.dumps(messages, default=str, ensure_ascii=False))


def turn_pieces(turn: ScriptedTurn, call_prefix: str) -> list[str | dict[str, Any]]:
    """What the turn streams (without the final chunk): its words of text (strings, made into chunks as they are
    sent), then its tool calls as GenericStreamingChunks."""
    streamed: list[str | dict[str, Any]] = list(_WORDS.findall(turn.text))
    for index, (name, arguments) in enumerate(turn.tool_calls):
        encoded = json.dumps(arguments, ensure_ascii=False)
        pieces = [encoded[i:i + ARGUMENT_PIECE_CHARS] for i in range(0, len(encoded), ARGUMENT_PIECE_CHARS)]
        for position, piece in enumerate(pieces or [""]):
            first = position == 0
            streamed.append(_chunk(tool_use={
                "id": f"{call_prefix}_{index}" if first else None,
                "type": "function",
                "function": {"name": name if first else None, "arguments": piece},
                "index": index,
            }))
    return streamed


def final_chunk(turn: ScriptedTurn, prompt: int, completion: int) -> dict[str, Any]:
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    return _chunk(finish_reason="tool_calls" if turn.tool_calls else "stop", usage=usage, is_finished=True)


def call_id_prefix(role: str, messages: list[dict[str, Any]]) -> str:
    """Deterministic tool-call ids that still differ from turn to turn (the conversation grows each turn)."""
    digest = hashlib.sha1(json.dumps([role, messages], default=str, sort_keys=True).encode()).hexdigest()
    return f"call_{digest[:10]}"


def _chunk(*, text: str = "", tool_use: dict[str, Any] | None = None, finish_reason: str = "",
           usage: dict[str, int] | None = None, is_finished: bool = False) -> dict[str, Any]:
    return {"text": text, "tool_use": tool_use, "is_finished": is_finished, "finish_reason": finish_reason,
            "usage": usage, "index": 0}


class Pacer:
    """The schedule of a stream of `total` pieces at `rate` pieces per second: piece k is due k / rate seconds after
    the start. A stream wakes at most once per TICK_S and sends every piece due by then as one chunk, as a fast
    provider's multi-token deltas do; late consumers catch up without drift. At rate 0: one piece at a time, no delay.
    """

    def __init__(self, total: int, rate: float | None = None) -> None:
        self.rate = current_rate() if rate is None else rate
        self.total = total
        self.start = time.monotonic()
        self.sent = 0

    @property
    def left(self) -> int:
        return self.total - self.sent

    def wait(self) -> float:
        """Seconds to sleep before the next batch (0 at rate 0: the sleep still lets other streams run)."""
        if self.rate <= 0:
            return 0.0
        return max(TICK_S, self.start + (self.sent + 1) / self.rate - time.monotonic())

    def take(self) -> slice:
        """The pieces that go in the chunk sent now (at least one), as a slice of the stream's pieces."""
        due = self.sent + 1 if self.rate <= 0 else int((time.monotonic() - self.start) * self.rate)
        start, self.sent = self.sent, min(self.total, max(self.sent + 1, due))
        return slice(start, self.sent)


def batched_chunks(pieces: list[str | dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The chunks for pieces sent together: consecutive words joined into one, tool-call pieces as they are."""
    text: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            text.append(piece)
            continue
        if text:
            yield _chunk(text="".join(text))
            text = []
        yield piece
    if text:
        yield _chunk(text="".join(text))


class _Plan:
    """Everything one call will stream, decided up front so streaming and non-streaming answers agree."""

    def __init__(self, model: str, messages: list[dict[str, Any]], litellm_params: dict[str, Any] | None,
                 optional_params: dict[str, Any] | None) -> None:
        role = role_of(litellm_params, optional_params)
        self.model = model
        self.turn = scripted_turn(role, messages)
        self.call_prefix = call_id_prefix(role, messages)
        self.pieces = turn_pieces(self.turn, self.call_prefix)
        self.prompt_tokens = prompt_tokens(messages)
        self.completion_tokens = len(self.pieces)

    def final(self) -> dict[str, Any]:
        return final_chunk(self.turn, self.prompt_tokens, self.completion_tokens)

    def fill(self, model_response: Any) -> Any:
        """Complete litellm's ModelResponse for a non-streaming call."""
        message = model_response.choices[0].message
        message.content = self.turn.text
        if self.turn.tool_calls:
            from litellm.types.utils import ChatCompletionMessageToolCall, Function

            message.tool_calls = [
                ChatCompletionMessageToolCall(id=f"{self.call_prefix}_{index}", type="function",
                                              function=Function(name=name, arguments=json.dumps(arguments)))
                for index, (name, arguments) in enumerate(self.turn.tool_calls)
            ]
        model_response.choices[0].finish_reason = "tool_calls" if self.turn.tool_calls else "stop"
        model_response.model = self.model
        from litellm.types.utils import Usage

        model_response.usage = Usage(prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens,
                                     total_tokens=self.prompt_tokens + self.completion_tokens)
        return model_response


def _handler_class(custom_llm_base: type) -> type:
    class OfflineModel(custom_llm_base):  # type: ignore[misc, valid-type]
        """litellm CustomLLM for provider `offline`: deterministic scripted turns, streamed at a set rate."""

        async def astreaming(self, model: str, messages: list, *args: Any, litellm_params: dict | None = None,
                             optional_params: dict | None = None, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
            plan = _Plan(model, messages, litellm_params, optional_params)
            pacer = Pacer(len(plan.pieces))
            while pacer.left:
                await asyncio.sleep(pacer.wait())  # sleep(0) at rate 0: other agents' tasks still get their turn
                for chunk in batched_chunks(plan.pieces[pacer.take()]):
                    yield chunk
            yield plan.final()

        def streaming(self, model: str, messages: list, *args: Any, litellm_params: dict | None = None,
                      optional_params: dict | None = None, **kwargs: Any) -> Iterator[dict[str, Any]]:
            plan = _Plan(model, messages, litellm_params, optional_params)
            pacer = Pacer(len(plan.pieces))
            while pacer.left:
                time.sleep(pacer.wait())
                yield from batched_chunks(plan.pieces[pacer.take()])
            yield plan.final()

        async def acompletion(self, model: str, messages: list, *args: Any, model_response: Any = None,
                              litellm_params: dict | None = None, optional_params: dict | None = None,
                              **kwargs: Any) -> Any:
            return _Plan(model, messages, litellm_params, optional_params).fill(model_response)

        def completion(self, model: str, messages: list, *args: Any, model_response: Any = None,
                       litellm_params: dict | None = None, optional_params: dict | None = None,
                       **kwargs: Any) -> Any:
            return _Plan(model, messages, litellm_params, optional_params).fill(model_response)

    return OfflineModel


def register(litellm: Any) -> None:
    """Install the offline handler as litellm provider `offline` (idempotent)."""
    handler = _handler_class(litellm.CustomLLM)()
    others = [entry for entry in (litellm.custom_provider_map or []) if entry.get("provider") != PROVIDER]
    litellm.custom_provider_map = [*others, {"provider": PROVIDER, "custom_handler": handler}]
    # litellm only adds custom providers to its routing tables at the start of a completion call;
    # do it now so get_llm_provider (preflight) knows `offline/...` before the first call.
    setup = getattr(getattr(litellm, "utils", None), "custom_llm_setup", None)
    if setup is not None:
        setup()
    # Known to litellm at zero cost: otherwise it formats a "model not mapped" traceback on every call (bench).
    try:
        litellm.register_model({f"{PROVIDER}/cockpit": {
            "litellm_provider": PROVIDER, "mode": "chat", "input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
            "cache_creation_input_token_cost": 0.0, "cache_read_input_token_cost": 0.0,
            "max_tokens": 128_000, "max_input_tokens": 128_000, "max_output_tokens": 16_000,
        }})
    except Exception:  # noqa: BLE001 - a litellm without register_model still works, only slower per call
        pass
