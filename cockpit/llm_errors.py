"""LLMError and the mapping from litellm's exceptions to it: one clear line, a kind, and whether a retry may help.

Kept apart from cockpit.llm so the mapping (which needs litellm's exception classes, passed in) stays testable and
cockpit.llm stays about streaming. Nothing here imports litellm.
"""

from __future__ import annotations

import email.utils
import os
import re
import time
from typing import Any

KINDS = ("auth", "model", "rate_limit", "timeout", "stream_cut", "provider", "context_window", "bad_request",
         "deadline")
RETRYABLE_KINDS = frozenset({"rate_limit", "timeout", "stream_cut", "provider"})
MAX_MESSAGE_CHARS = 300

_DESCRIPTIONS = {
    "auth": "the provider refused the credentials",
    "model": "unknown model",
    "rate_limit": "rate limited by the provider",
    "timeout": "the provider timed out",
    "stream_cut": "the response stream was cut mid-way",
    "provider": "provider error",
    "context_window": "the conversation exceeds the model's context window",
    "bad_request": "the provider rejected the request",
}

# Secrets that may appear in provider messages or URLs: OpenAI/Anthropic-style keys, bearer tokens, ?key= params.
_SECRET_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._\-]+"),
    re.compile(r"(?i)([?&](?:api[_-]?)?key=)[^&\s]+"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"),
)
# "litellm.RateLimitError: RateLimitError: OpenAIException - " and similar layers of class names.
_NOISE_PREFIX = re.compile(r"^\s*(?:(?:litellm\.)?[A-Za-z_]*(?:Error|Exception|Timeout)\s*)+(?::|-)\s*")
_NOISE_SUFFIX = re.compile(r"\s*Handle with `litellm\.\w+`\.?")


class LLMError(Exception):
    """A model call that failed. `str(e)` is one line without secrets; `kind` is one of KINDS."""

    def __init__(self, kind: str, message: str, *, retryable: bool | None = None, retry_after: float | None = None,
                 cause: LLMError | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown LLMError kind {kind!r}")
        self.kind = kind
        self.retryable = kind in RETRYABLE_KINDS if retryable is None else retryable
        self.retry_after = retry_after  # seconds the provider asked us to wait (Retry-After), if it said
        self.cause = cause  # for "deadline": the last error before giving up
        self.message = redact(message)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def redact(text: str) -> str:
    """One line, secrets removed, bounded length."""
    line = " ".join(str(text).split())
    for value in _secret_env_values():
        line = line.replace(value, "[redacted]")
    for pattern in _SECRET_PATTERNS:
        line = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", line)
    if len(line) > MAX_MESSAGE_CHARS:
        line = line[: MAX_MESSAGE_CHARS - 3] + "..."
    return line


def _secret_env_values() -> list[str]:
    names = ("KEY", "TOKEN", "SECRET", "PASSWORD")
    return [value for name, value in os.environ.items()
            if any(part in name.upper() for part in names) and len(value) >= 8]


def provider_detail(exc: BaseException) -> str:
    """The provider's own words, without litellm's stack of class-name prefixes."""
    text = " ".join(str(getattr(exc, "message", None) or exc).split())
    previous = None
    while previous != text:
        previous = text
        text = _NOISE_PREFIX.sub("", text, count=1)
    # litellm repeats the message after "Original exception:"; the first half says it all.
    text = _NOISE_SUFFIX.sub("", text.split(" Original exception:")[0]).strip()
    return text or type(exc).__name__


def describe(kind: str, model: str, exc: BaseException | None = None, status: int | None = None) -> str:
    parts = [f"{model}: {_DESCRIPTIONS.get(kind, kind)}"]
    if status:
        parts[0] += f" ({status})"
    if exc is not None:
        parts.append(provider_detail(exc))
    return ": ".join(parts)


def status_of(exc: BaseException) -> int | None:
    for candidate in (getattr(exc, "status_code", None), getattr(getattr(exc, "response", None), "status_code", None)):
        try:
            if candidate is not None:
                return int(candidate)
        except (TypeError, ValueError):
            continue
    return None


def retry_after_seconds(exc: BaseException) -> float | None:
    """Retry-After (seconds or an HTTP date) or retry-after-ms from the error's response headers, if present."""
    for headers in _headers_of(exc):
        millis = _header(headers, "retry-after-ms")
        if millis is not None:
            try:
                return max(0.0, float(millis) / 1000)
            except ValueError:
                pass
        value = _header(headers, "retry-after")
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return max(0.0, email.utils.mktime_tz(parsed) - time.time())
    return None


def _headers_of(exc: BaseException) -> list[Any]:
    found = []
    for source in (getattr(exc, "litellm_response_headers", None), getattr(exc, "headers", None)):
        if source:
            found.append(source)
    try:
        response_headers = getattr(getattr(exc, "response", None), "headers", None)
    except Exception:  # some SDK responses raise when a field is missing
        response_headers = None
    if response_headers:
        found.append(response_headers)
    return found


def _header(headers: Any, name: str) -> str | None:
    try:
        value = headers.get(name)
        if value is None and isinstance(headers, dict):
            value = next((v for k, v in headers.items() if k.lower() == name), None)
    except Exception:
        return None
    return None if value is None else str(value)


def classify(exc: BaseException, model: str, litellm: Any) -> LLMError:
    """Map any exception raised by a litellm call or stream to an LLMError."""
    if isinstance(exc, LLMError):
        return exc

    def is_a(*names: str) -> bool:
        classes = tuple(cls for name in names if isinstance(cls := getattr(litellm, name, None), type))
        return bool(classes) and isinstance(exc, classes)

    status = status_of(exc)
    if is_a("MidStreamFallbackError"):
        return _classify_mid_stream(exc, model, litellm)
    if is_a("ContextWindowExceededError"):
        return LLMError("context_window", describe("context_window", model, exc))
    if is_a("AuthenticationError", "PermissionDeniedError"):
        return LLMError("auth", describe("auth", model, exc, status))
    if is_a("NotFoundError"):
        return LLMError("model", describe("model", model, exc, status))
    if is_a("RateLimitError") or status == 429:
        return LLMError("rate_limit", describe("rate_limit", model, exc, 429), retry_after=retry_after_seconds(exc))
    if is_a("Timeout") or isinstance(exc, TimeoutError) or status == 408:
        return LLMError("timeout", describe("timeout", model, exc))
    if is_a("BadRequestError", "UnprocessableEntityError", "UnsupportedParamsError"):
        if "LLM Provider NOT provided" in str(exc):
            return unknown_model_error(model)
        return LLMError("bad_request", describe("bad_request", model, exc, status))
    if is_a("APIConnectionError", "ServiceUnavailableError", "InternalServerError", "BadGatewayError"):
        return LLMError("provider", describe("provider", model, exc, status))
    if status is not None and 400 <= status < 500:
        return LLMError("bad_request", describe("bad_request", model, exc, status))
    # 5xx, transport errors, malformed chunks: a fresh attempt may well succeed.
    return LLMError("provider", describe("provider", model, exc, status))


def _classify_mid_stream(exc: BaseException, model: str, litellm: Any) -> LLMError:
    """litellm wraps errors raised while streaming; the wrapped one says what really happened."""
    original = getattr(exc, "original_exception", None)
    inner = classify(original, model, litellm) if isinstance(original, BaseException) else None
    if inner is not None and inner.kind != "provider":
        return inner
    return LLMError("stream_cut", describe("stream_cut", model, original if original is not None else exc))


def unknown_model_error(model: str) -> LLMError:
    return LLMError("model", f"unknown model {model!r}: litellm cannot route it; name it provider/model "
                             "(e.g. openai/gpt-4.1, anthropic/claude-sonnet-4-5) or use --model offline")
