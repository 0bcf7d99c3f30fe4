"""A real OpenAI-compatible chat server on 127.0.0.1 for tests: SSE streaming, tool calls, usage, scripted faults.

It speaks just enough HTTP/1.1 (stdlib asyncio streams, one request per connection, chunked bodies) for the OpenAI
SDK and litellm to treat it as a provider, so tests exercise the real network path including broken streams:

    server = FakeOpenAI([ScriptedResponse.status(429, retry_after="0"), ScriptedResponse(text="hello")])
    await server.start()            # server.base_url == "http://127.0.0.1:PORT/v1"
    ...                             # litellm.acompletion(model="openai/x", api_base=server.base_url, ...)
    assert len(server.requests) == 2
    await server.stop()

For a subprocess (the CLI tests), `handle = FakeOpenAI.run_in_thread(respond)` serves from a background thread.
The script is either a list of ScriptedResponse, consumed in order, or a callable
`respond(request_json, call_index) -> ScriptedResponse`, which lets a test play a whole session.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Respond = Callable[[dict[str, Any], int], "ScriptedResponse"]

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class ScriptedResponse:
    """One answer of the fake server.

    A 200 answer streams `text` in `chunk_chars`-sized deltas, then each tool call (id, name, then its JSON
    arguments in pieces), a finish chunk and, when asked for, a usage chunk. Faults:
    - `status` != 200: an error response with `error_message` (and `retry_after` as a Retry-After header);
    - `cut_after=N`: send N SSE chunks, then close the connection without finishing the body (no [DONE]);
    - `stall_after=N`: send N SSE chunks, then send nothing more until the client goes away;
    - `malformed_after=N`: send N SSE chunks, then one whose data is not JSON, then the rest.
    """

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)  # str: raw arguments text
    status: int = 200
    error_message: str = ""
    retry_after: str | None = None
    cut_after: int | None = None
    stall_after: int | None = None
    malformed_after: int | None = None
    chunk_chars: int = 4
    prompt_tokens: int | None = None  # default: about chars/4 of the request's messages
    completion_tokens: int | None = None  # default: about chars/4 of what is streamed
    reports_usage: bool = True  # False: ignore stream_options.include_usage, as some providers do

    @classmethod
    def status_error(cls, status: int, message: str = "", retry_after: str | None = None) -> ScriptedResponse:
        return cls(status=status, error_message=message or _REASONS.get(status, "error"), retry_after=retry_after)

    @classmethod
    def context_window_error(cls) -> ScriptedResponse:
        # The wording OpenAI uses; litellm recognises it and raises ContextWindowExceededError.
        return cls(status=400, error_message="This model's maximum context length is 8192 tokens. However, your "
                   "messages resulted in 9000 tokens. context_length_exceeded")


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    # Set when the client hung up on a stalled stream (it abandoned it); created in the server's event loop.
    abandoned: asyncio.Event = field(default_factory=asyncio.Event)


class FakeOpenAI:
    """An OpenAI-compatible server on 127.0.0.1:port (0 = any free port)."""

    def __init__(self, script: Sequence[ScriptedResponse] | Respond = (), *, port: int = 0) -> None:
        self._respond: Respond = script if callable(script) else self._from_list(list(script))
        self._port = port
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.requests: list[RecordedRequest] = []

    @staticmethod
    def _from_list(queue: list[ScriptedResponse]) -> Respond:
        def respond(_request: dict[str, Any], index: int) -> ScriptedResponse:
            if index < len(queue):
                return queue[index]
            return ScriptedResponse.status_error(400, f"fake server: no scripted response for call {index}")
        return respond

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_connection, "127.0.0.1", self._port)
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FakeOpenAI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @classmethod
    def run_in_thread(cls, script: Sequence[ScriptedResponse] | Respond = (), *, port: int = 0) -> ServerThread:
        """Serve from a background thread with its own event loop, for tests that drive a subprocess."""
        return ServerThread(cls(script, port=port))

    # -- HTTP -----------------------------------------------------------------------------------------------

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve_one(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to answer
        except asyncio.CancelledError:
            pass  # stop() cancels handlers still serving (stalls); end quietly instead of logging the cancellation
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, path, _version = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
        if method != "POST" or not path.rstrip("/").endswith("/chat/completions"):
            await _send_json(writer, 404, {"error": {"message": f"no route {method} {path}"}})
            return
        body = json.loads(raw or b"{}")
        record = RecordedRequest(path=path, headers=headers, body=body)
        index = len(self.requests)
        self.requests.append(record)
        scripted = self._respond(body, index)
        if scripted.status != 200:
            await _send_error(writer, scripted)
        elif body.get("stream"):
            await self._stream(reader, writer, scripted, body, index, record)
        else:
            await _send_json(writer, 200, _completion(scripted, body, index))

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, scripted: ScriptedResponse,
                      body: dict[str, Any], index: int, record: RecordedRequest) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        include_usage = scripted.reports_usage and bool((body.get("stream_options") or {}).get("include_usage"))
        events = _sse_events(scripted, body, index, include_usage)
        for sent, event in enumerate(events):
            if scripted.cut_after is not None and sent >= scripted.cut_after:
                await writer.drain()
                writer.transport.abort()  # no terminating chunk: the body is incomplete
                return
            if scripted.stall_after is not None and sent >= scripted.stall_after:
                await writer.drain()
                await reader.read()  # returns at EOF, i.e. when the client abandons the stream
                record.abandoned.set()
                return
            if sent == scripted.malformed_after:
                _write_chunk(writer, b'data: {"choices": [{"delta": {"content": "oops\n\n')
            _write_chunk(writer, f"data: {event}\n\n".encode())
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()


class ServerThread:
    """A FakeOpenAI serving from its own thread; `.base_url`, `.requests`, `.stop()`."""

    def __init__(self, server: FakeOpenAI) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-openai", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self.server.start())
        self._ready.set()
        self._loop.run_forever()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.server.requests

    def stop(self) -> None:
        if not self._loop.is_running():
            return
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- response bodies ------------------------------------------------------------------------------------------

def _write_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


async def _send_json(writer: asyncio.StreamWriter, status: int, payload: dict[str, Any],
                     extra_headers: dict[str, str] | None = None) -> None:
    data = json.dumps(payload).encode()
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", "Content-Type: application/json",
             f"Content-Length: {len(data)}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (extra_headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
    await writer.drain()


async def _send_error(writer: asyncio.StreamWriter, scripted: ScriptedResponse) -> None:
    headers = {"Retry-After": scripted.retry_after} if scripted.retry_after is not None else {}
    code = "context_length_exceeded" if "context length" in scripted.error_message else None
    payload = {"error": {"message": scripted.error_message, "type": "fake_error", "code": code}}
    await _send_json(writer, scripted.status, payload, headers)


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


def _usage(scripted: ScriptedResponse, body: dict[str, Any]) -> dict[str, int]:
    prompt = scripted.prompt_tokens
    if prompt is None:
        prompt = _estimate_tokens(json.dumps(body.get("messages", [])))
    completion = scripted.completion_tokens
    if completion is None:
        completion = _estimate_tokens(scripted.text + json.dumps([list(call) for call in scripted.tool_calls]))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _arguments_text(arguments: dict[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), max(1, size))]


def _sse_events(scripted: ScriptedResponse, body: dict[str, Any], index: int, include_usage: bool) -> list[str]:
    """Every SSE `data:` payload of one streamed answer, in order, the last being [DONE]."""
    base = {"id": f"chatcmpl-fake-{index}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": body.get("model", "fake")}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return json.dumps({**base, "choices": [choice]})

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in _pieces(scripted.text, scripted.chunk_chars)]
    for position, (name, arguments) in enumerate(scripted.tool_calls):
        opening = {"index": position, "id": f"call_{index}_{position}", "type": "function",
                   "function": {"name": name, "arguments": ""}}
        events.append(chunk({"tool_calls": [opening]}))
        for piece in _pieces(_arguments_text(arguments), 8):
            events.append(chunk({"tool_calls": [{"index": position, "function": {"arguments": piece}}]}))
    events.append(chunk({}, "tool_calls" if scripted.tool_calls else "stop"))
    if include_usage:
        events.append(json.dumps({**base, "choices": [], "usage": _usage(scripted, body)}))
    events.append("[DONE]")
    return events


def _completion(scripted: ScriptedResponse, body: dict[str, Any], index: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": scripted.text or None}
    if scripted.tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{index}_{position}", "type": "function",
             "function": {"name": name, "arguments": _arguments_text(arguments)}}
            for position, (name, arguments) in enumerate(scripted.tool_calls)
        ]
    return {"id": f"chatcmpl-fake-{index}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if scripted.tool_calls else "stop"}],
            "usage": _usage(scripted, body)}
