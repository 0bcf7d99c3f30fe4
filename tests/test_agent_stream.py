"""Agent streams: bounded transcripts, no rendering while hidden, pinned to the bottom, only visible lines drawn."""

from __future__ import annotations

import itertools

from textual.app import App, ComposeResult
from textual.widgets import Markdown

from cockpit.app_streams import StreamDeck, StreamHeader
from cockpit.events import Event
from cockpit.widgets.agent_stream import AgentStream, Transcript, TranscriptLines

_seq = itertools.count(1)


def event(type_: str, **data) -> Event:
    return Event(type_, next(_seq), 1000.0, "s1", data)


def text(task_id: str, chunk: str) -> Event:
    return event("agent_output", task_id=task_id, agent="coder", text=chunk)


def tool_call(task_id: str, path: str) -> Event:
    return event("tool_called", task_id=task_id, tool="read_file", args={"path": path})


class StreamApp(App[None]):
    def __init__(self, shown: bool = True) -> None:
        super().__init__()
        self.shown = shown

    def compose(self) -> ComposeResult:
        stream = AgentStream("t1", id="stream")
        stream.display = self.shown
        yield stream


class DeckApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StreamDeck(id="deck")


def test_transcript_keeps_only_the_most_recent_text_within_its_limit():
    transcript = Transcript(limit=10_000, segment_limit=2_000)
    for n in range(2_000):
        transcript.add_text(f"line {n} of a long answer\n\n")
        if n % 50 == 0:
            transcript.add("tool", f"read_file file{n}.py", tool="read_file")
    assert transcript.chars <= 10_000
    assert transcript.trimmed > 0
    assert "line 1999 of a long answer" in transcript.live + "".join(e.text for e in transcript.entries)
    assert "line 0 of" not in "".join(e.text for e in transcript.entries)


def test_long_live_text_is_closed_at_a_paragraph_break():
    transcript = Transcript(limit=100_000, segment_limit=100)
    transcript.add_text("first paragraph " * 4 + "\n\n" + "second paragraph " * 4)
    assert transcript.generation == 1
    assert transcript.entries[-1].kind == "text" and transcript.entries[-1].text.endswith("\n\n")
    assert transcript.live.startswith("second paragraph")


def test_a_tool_result_goes_on_the_line_of_its_call():
    transcript = Transcript()
    transcript.add("tool", "read_file a.py", tool="read_file")
    transcript.close_tool("read_file", True, "read a.py (10 bytes)")
    (entry,) = transcript.entries
    assert entry.ok is True and entry.text == "read_file a.py — read a.py (10 bytes)"


async def test_hidden_stream_renders_nothing_until_shown(monkeypatch):
    appended: list[str] = []
    original_append = Markdown.append

    def counting_append(self, markdown: str):
        appended.append(markdown)
        return original_append(self, markdown)

    monkeypatch.setattr(Markdown, "append", counting_append)
    app = StreamApp(shown=False)
    async with app.run_test(size=(80, 24)) as pilot:
        stream = app.query_one(AgentStream)
        for n in range(200):
            stream.feed(text("t1", f"token{n} "))
        await pilot.pause()
        assert appended == [] and stream.query_one(Markdown).source == ""
        stream.display = True
        await pilot.pause()
        await stream.flush_view()
        assert len(appended) <= 2  # caught up in one write, not 200
        assert stream.query_one(Markdown).source == "".join(f"token{n} " for n in range(200))


async def test_stream_follows_output_until_the_user_scrolls_up():
    app = StreamApp()
    async with app.run_test(size=(60, 20)) as pilot:
        stream = app.query_one(AgentStream)
        stream.focus()
        for n in range(60):
            stream.feed(tool_call("t1", f"file{n}.py"))
        await stream.flush_view()
        await pilot.pause()
        assert stream.max_scroll_y > 0 and stream.scroll_y == stream.max_scroll_y
        await pilot.press("k", "k", "k")
        held = stream.scroll_y
        assert held < stream.max_scroll_y
        for n in range(20):
            stream.feed(tool_call("t1", f"more{n}.py"))
        await stream.flush_view()
        await pilot.pause()
        assert stream.scroll_y == held  # reading back is not interrupted
        await pilot.press("G")
        await pilot.pause()
        for n in range(20):
            stream.feed(tool_call("t1", f"again{n}.py"))
        await stream.flush_view()
        await pilot.pause()
        assert stream.scroll_y == stream.max_scroll_y  # following again


async def test_only_the_visible_lines_of_a_long_transcript_are_drawn(monkeypatch):
    drawn: list[int] = []
    original = TranscriptLines.render_line

    def counting_render_line(self, y: int):
        drawn.append(y)
        return original(self, y)

    monkeypatch.setattr(TranscriptLines, "render_line", counting_render_line)
    app = StreamApp()
    async with app.run_test(size=(80, 24)) as pilot:
        stream = app.query_one(AgentStream)
        for n in range(3_000):
            stream.feed(tool_call("t1", f"file{n}.py"))
        await stream.flush_view()
        await pilot.pause()
        lines = stream.query_one(TranscriptLines)
        assert lines.size.height >= 3_000
        drawn.clear()
        lines.refresh()
        await pilot.pause()
        assert 0 < len(drawn) <= 3 * 24


async def test_deck_shows_streams_side_by_side_when_wide_and_one_when_narrow():
    app = DeckApp()
    async with app.run_test(size=(160, 30)) as pilot:
        deck = app.query_one(StreamDeck)
        for task_id in ("t1", "t2"):
            deck.feed(event("task_updated", task_id=task_id, status="running", agent="coder"))
            deck.feed(text(task_id, f"working on {task_id}"))
        deck.update_tasks({tid: StreamHeader("running", "coder", "offline") for tid in ("t1", "t2")})
        deck.select("t1")
        await pilot.pause()
        assert [tid for tid, s in deck.streams.items() if s.display] == ["t1", "t2"]
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert [tid for tid, s in deck.streams.items() if s.display] == ["t1"]
        deck.select("t2")
        await pilot.pause()
        await deck.flush()
        assert [tid for tid, s in deck.streams.items() if s.display] == ["t2"]
        assert deck.streams["t2"].query_one(Markdown).source == "working on t2"
