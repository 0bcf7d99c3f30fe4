"""What cockpit keeps litellm from holding (cockpit/llm_footprint.py): merged stream chunks give the same reply and
the same usage, and a streamed turn loads no tokenizer for a price nobody reads. Real litellm, real local server."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from cockpit import llm, llm_footprint
from cockpit.llm import LLMClient
from openai_server import FakeOpenAI, ScriptedResponse

MESSAGES = [{"role": "system", "content": "You are a coder."}, {"role": "user", "content": "Explain the fix."}]
TEXT = "".join(f"Step {index}: the agent reads the module and explains the change.\n" for index in range(300))
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def litellm_loaded() -> None:
    llm._import_litellm()


@pytest.fixture(autouse=True)
def no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


async def test_a_reply_rebuilt_from_merged_chunks_is_the_reply_rebuilt_from_all_of_them() -> None:
    litellm = llm._import_litellm()
    reply = ScriptedResponse(text=TEXT, tool_calls=[("read_file", {"path": "src/app.py"})], chunk_chars=3)
    async with FakeOpenAI([reply]) as server:
        stream = await litellm.acompletion(model="openai/gpt-4.1", messages=MESSAGES, stream=True,
                                           api_base=server.base_url, api_key=llm.PLACEHOLDER_API_KEY)
        async for _chunk in stream:
            pass
    every = copy.deepcopy(stream.chunks)
    llm_footprint.merge_text_chunks(stream)

    assert len(every) > 6_000 and len(stream.chunks) < 40  # the text runs merged; tool call, finish, last ones kept
    whole, merged = (litellm.stream_chunk_builder(chunks, messages=MESSAGES) for chunks in (every, stream.chunks))
    assert merged.choices[0].message.content == whole.choices[0].message.content == TEXT
    assert [(call.function.name, call.function.arguments) for call in merged.choices[0].message.tool_calls] == \
        [(call.function.name, call.function.arguments) for call in whole.choices[0].message.tool_calls]
    assert merged.choices[0].finish_reason == whole.choices[0].finish_reason == "tool_calls"
    assert merged.usage.completion_tokens == whole.usage.completion_tokens > 0


async def test_usage_litellm_counts_for_a_provider_that_reports_none_is_unchanged_by_merging(
        monkeypatch: pytest.MonkeyPatch) -> None:
    merges: list[tuple[int, int]] = []

    def counted_merge(stream: Any) -> None:
        before = len(stream.chunks)
        llm_footprint.merge_text_chunks(stream)
        merges.append((before, len(stream.chunks)))

    async def turn() -> llm.Turn:
        reply = ScriptedResponse(text=TEXT, chunk_chars=3, reports_usage=False)
        async with FakeOpenAI([reply]) as server:
            return await LLMClient(api_base=server.base_url).stream_turn(
                model="openai/gpt-4.1", messages=MESSAGES, tools=None, on_text=lambda _text: None)

    monkeypatch.setattr(llm, "merge_text_chunks", counted_merge)
    merged = await turn()
    assert len(merges) > 20 and all(after <= llm_footprint.KEEP_LAST + 2 for _before, after in merges)
    monkeypatch.setattr(llm, "MERGE_EVERY", 10**9)
    whole = await turn()

    assert merged.text == whole.text == TEXT
    assert (merged.prompt_tokens, merged.completion_tokens) == (whole.prompt_tokens, whole.completion_tokens)
    assert merged.completion_tokens != len(TEXT) // 4  # litellm's own count, not cockpit's estimate


def test_streamed_turns_load_no_tokenizer_and_are_still_priced() -> None:
    # A fresh interpreter: other tests in this process may have loaded an encoding on purpose.
    code = textwrap.dedent("""
        import asyncio, sys
        import tiktoken.registry
        from cockpit.llm import LLMClient
        from openai_server import FakeOpenAI, ScriptedResponse

        async def main():
            messages = [{"role": "user", "content": "Fix the bug. " * 200}]
            async with FakeOpenAI([ScriptedResponse(text="Fixed it. " * 100)]) as server:
                paid = await LLMClient(api_base=server.base_url).stream_turn(
                    model="openai/gpt-4o", messages=messages, tools=None, on_text=lambda _text: None)
            offline = await LLMClient().stream_turn(model="offline", messages=messages, tools=None,
                                                    on_text=lambda _text: None)
            print(paid.cost_usd > 0, paid.completion_tokens, offline.completion_tokens > 0,
                  sorted(tiktoken.registry.ENCODINGS))

        asyncio.run(main())
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)])}
    env.pop("OPENAI_API_KEY", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "250", "True", "[]"]


def test_merging_leaves_chunks_that_carry_more_than_text_and_a_role_change_alone() -> None:
    from litellm.types.utils import Delta, ModelResponseStream, StreamingChoices

    def chunk(content: str | None, **delta: Any) -> Any:
        return ModelResponseStream(choices=[StreamingChoices(delta=Delta(content=content, **delta))])

    class Stream:
        chunks = [chunk("Hel", role="assistant"), chunk("lo "), chunk("there"), chunk(None, role="assistant"),
                  chunk("again", role="assistant"), chunk(" and"), chunk("", reasoning_content="thinking"),
                  chunk(" on"), chunk(" and"), chunk(" on")]

    llm_footprint.merge_text_chunks(Stream, keep_last=2)
    assert [(c.choices[0].delta.content, c.choices[0].delta.role) for c in Stream.chunks] == [
        ("Hello there", "assistant"), (None, "assistant"), ("again and", "assistant"), ("", None),
        (" on", None), (" and", None), (" on", None)]


def test_the_encoding_litellm_hands_custom_providers_loads_when_first_used() -> None:
    litellm = llm._import_litellm()
    encoding = litellm.main.encoding
    assert isinstance(encoding, llm_footprint._LazyEncoding)
    assert encoding.encode("hello world") == [15339, 1917]  # cl100k_base, loaded now
    assert encoding.name == "cl100k_base"
