"""What litellm would hold in memory that cockpit never reads, and how cockpit keeps it from holding it.

Measured in bench/ (memory) and written up in docs/benchmarks.md. Two things, each applied only where litellm has
the shape they expect, so another litellm version gets its normal behaviour rather than an error:

- **Every chunk of a stream.** litellm keeps each chunk of a stream (a pydantic object of about 3.6 KB) until the
  stream ends, to rebuild the whole reply for its usage count and its logging. Sixteen agents in long turns hold
  tens of MB of them; freed at each turn's end, they leave the heap fragmented, and the process keeps the pages.
  `merge_text_chunks` merges runs of plain-text chunks into the first of each run, joining their text: litellm's
  rebuild joins the same text in the same order, so the reply and the usage counted from it are unchanged.
- **A tokenizer nobody reads.** At the start of every stream litellm prices the stream object it hands back by
  counting the prompt's tokens, which loads a tiktoken encoding (38 MB for cl100k, over 100 MB with o200k) and
  re-counts the whole conversation on every call. cockpit prices a turn from the usage at its end
  (`llm._cost`), so `defer_tokenizers` has litellm skip the price of a stream not yet read, and makes the encoding
  litellm hands every custom provider (the offline model never uses it) load on first use. A provider that reports
  no usage still gets its tokens counted at the end of the stream, as before.
"""

from __future__ import annotations

from typing import Any

KEEP_LAST = 8  # chunks left as they came: litellm compares the last two to detect a stuck stream
MERGE_EVERY = 256  # chunks read between merges

# Fields a plain-text chunk, its choice and its delta may carry (any other field, when set, keeps a chunk as it is).
_CHUNK_FIELDS = frozenset({"id", "created", "model", "object", "system_fingerprint", "choices"})
_CHOICE_FIELDS = frozenset({"index", "delta"})
_DELTA_FIELDS = frozenset({"content", "role"})


def merge_text_chunks(stream: Any, keep_last: int = KEEP_LAST) -> None:
    """Merge runs of plain-text chunks in `stream.chunks` (litellm's list for the reply), all but the last few."""
    chunks = getattr(stream, "chunks", None)
    if not isinstance(chunks, list) or len(chunks) <= keep_last + 1:
        return
    merged: list[Any] = []
    head: Any = None  # the chunk the current run of plain text is merged into
    texts: list[str] = []
    for chunk in chunks[: len(chunks) - keep_last]:
        text = _plain_text(chunk)
        if text is not None and head is not None and _role(chunk) is None:
            texts.append(text)
            continue
        _close_run(head, texts)
        merged.append(chunk)
        head, texts = (chunk, [text]) if text is not None else (None, [])
    _close_run(head, texts)
    chunks[: len(chunks) - keep_last] = merged


def _close_run(head: Any, texts: list[str]) -> None:
    if head is not None and len(texts) > 1:
        head.choices[0].delta.content = "".join(texts)


def _plain_text(chunk: Any) -> str | None:
    """The chunk's text when it carries nothing else (no tool call, finish, usage, logprobs...), else None."""
    choices = getattr(chunk, "choices", None)
    if type(choices) is not list or len(choices) != 1:
        return None
    choice = choices[0]
    delta = getattr(choice, "delta", None)
    content = getattr(delta, "content", None)
    if type(content) is not str or getattr(choice, "index", 0) != 0:
        return None
    parts = ((chunk, _CHUNK_FIELDS), (choice, _CHOICE_FIELDS), (delta, _DELTA_FIELDS))
    return None if any(_carries_more(part, allowed) for part, allowed in parts) else content


def _carries_more(model: Any, allowed: frozenset[str]) -> bool:
    """Whether a pydantic object has a field set beyond `allowed` (litellm keeps most in `__pydantic_extra__`)."""
    fields = getattr(model, "__dict__", None)
    if fields is None:
        return True
    extra = getattr(model, "__pydantic_extra__", None) or {}
    return any(value is not None and name not in allowed for name, value in (*fields.items(), *extra.items()))


def _role(chunk: Any) -> Any:
    return getattr(chunk.choices[0].delta, "role", None)


def defer_tokenizers(litellm: Any) -> None:
    """Keep litellm from loading a tokenizer for figures cockpit never reads (see the module docstring)."""
    streaming = getattr(getattr(litellm, "litellm_core_utils", None), "streaming_handler", None)
    wrapper = getattr(streaming, "CustomStreamWrapper", None)
    calculator = getattr(litellm, "response_cost_calculator", None)
    if isinstance(wrapper, type) and callable(calculator):

        def response_cost_calculator(response_object: Any = None, *args: Any, **kwargs: Any) -> Any:
            if isinstance(response_object, wrapper):
                return None  # a stream not yet read: its price comes from the usage at its end
            return calculator(response_object, *args, **kwargs)

        litellm.response_cost_calculator = response_cost_calculator
    main = getattr(litellm, "main", None)
    if main is not None and "encoding" not in vars(main) and getattr(main, "_encoding_cache", 0) is None:
        loader = getattr(main, "_load_default_encoding", None)
        if callable(loader):
            main.encoding = _LazyEncoding(loader)


class _LazyEncoding:
    """litellm's default tokenizer, loaded the first time something uses it."""

    def __init__(self, load: Any) -> None:
        self._load = load
        self._encoding: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._encoding is None:
            self._encoding = self._load()
        return getattr(self._encoding, name)
