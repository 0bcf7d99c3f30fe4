"""Agent streams: bounded transcripts, no rendering while hidden, pinned to the bottom, only visible lines drawn."""

from __future__ import annotations

import itertools

import pytest

from textual.app import App, ComposeResult
from textual.geometry import Offset
from textual.selection import Selection

from cockpit.app_streams import StreamDeck, StreamHeader
from cockpit.events import Event
from cockpit.widgets.agent_stream import AgentStream
from cockpit.widgets.transcript import Transcript

_seq = itertools.count(1)


def event(type_: str, **data) -> Event:
    return Event(type_, next(_seq), 1000.0, "s1", data)


def text(task_id: str, chunk: str) -> Event:
    return event("agent_output", task_id=task_id, agent="coder", text=chunk)


def tool_call(task_id: str, path: str) -> Event:
    return event("tool_called", task_id=task_id, tool="read_file", args={"path": path})


@pytest.fixture
def renders(monkeypatch) -> list[object]:
    """Every renderable a stream renders into rows, in order."""
    rendered: list[object] = []
    original_render = AgentStream._render

    def counting_render(self, renderable):
        rendered.append(renderable)
        return original_render(self, renderable)

    monkeypatch.setattr(AgentStream, "_render", counting_render)
    return rendered


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
    transcript = Transcript(limit=10_000, live_limit=2_000)
    for n in range(2_000):
        transcript.add_text(f"line {n} of a long answer\n\n")
        if n % 50 == 0:
            transcript.add("tool", f"read_file file{n}.py", tool="read_file")
    assert transcript.chars <= 10_000
    assert transcript.trimmed > 0
    assert "line 1999 of a long answer" in transcript.live + "".join(e.text for e in transcript.entries)
    assert "line 0 of" not in "".join(e.text for e in transcript.entries)


def test_a_block_is_closed_when_a_blank_line_ends_it():
    transcript = Transcript()
    transcript.add_text("first paragraph, ")
    transcript.add_text("still the first\n")
    assert transcript.entries == [] and transcript.live == "first paragraph, still the first\n"
    transcript.add_text("\nsecond ")
    (entry,) = transcript.entries
    assert entry.kind == "text" and entry.text == "first paragraph, still the first\n\n"
    assert transcript.live == "second "


def test_a_blank_line_inside_a_code_fence_does_not_end_the_block():
    transcript = Transcript()
    for chunk in ("Here:\n\n```py\n", "a = 1\n", "\n", "b = 2\n```\n", "\n", "After."):
        transcript.add_text(chunk)
    assert [entry.text for entry in transcript.entries] == ["Here:\n\n", "```py\na = 1\n\nb = 2\n```\n\n"]
    assert transcript.live == "After."


def test_a_block_too_long_to_keep_live_is_cut_at_a_line_break_and_code_stays_code():
    transcript = Transcript(live_limit=100)
    transcript.add_text("```py\n" + "".join(f"x{n} = {n}\n" for n in range(30)))
    head, *_ = transcript.entries
    assert head.text.startswith("```py\nx0 = 0\n") and head.text.endswith("```\n")  # closed for rendering
    assert transcript.live.startswith("```py\n") and transcript.live.endswith("x29 = 29\n")  # reopened
    assert all(entry.continued for entry in transcript.entries[1:]) and not head.continued
    assert len(transcript.live) <= 100
    transcript.add_text("```\n\nDone.")
    assert transcript.live == "Done." and transcript.entries[-1].text.endswith("x29 = 29\n```\n\n")


def test_a_tool_result_goes_on_the_line_of_its_call():
    transcript = Transcript()
    transcript.add("tool", "read_file a.py", tool="read_file")
    transcript.close_tool("read_file", True, "read a.py (10 bytes)")
    (entry,) = transcript.entries
    assert entry.ok is True and entry.text == "read_file a.py — read a.py (10 bytes)"


async def test_hidden_stream_renders_nothing_until_shown(renders):
    rendered = renders
    app = StreamApp(shown=False)
    async with app.run_test(size=(80, 24)) as pilot:
        stream = app.query_one(AgentStream)
        for n in range(200):
            stream.feed(text("t1", f"token{n} " + ("\n\n" if n % 50 == 49 else "")))
        await pilot.pause()
        assert rendered == [] and stream.text_lines() == []
        stream.display = True
        await pilot.pause()
        await stream.flush_view()
        assert len(rendered) == 1 + 4  # caught up in one pass: "coder speaking" and 4 blocks, not 200 writes
        lines = stream.text_lines()
        assert lines[0] == "── coder speaking" and lines[2].startswith("token0 token1") and "token199" in lines[-1]


async def test_finished_blocks_are_rendered_once_and_only_the_live_one_again(renders):
    app = StreamApp()
    async with app.run_test(size=(80, 24)) as pilot:
        stream = app.query_one(AgentStream)
        await pilot.pause()
        for n in range(3):
            for word in ("alpha ", "beta ", "gamma\n\n"):
                stream.feed(text("t1", word))
                await stream.flush_view()
        rendered = [getattr(renderable, "markup", None) or str(renderable) for renderable in renders]
        assert rendered.count("alpha beta gamma") == 3  # each block once, when it closed
        assert rendered.count("alpha ") == rendered.count("alpha beta ") == 3  # the live block as it grew
        assert stream.text_lines() == ["── coder speaking", *["", "alpha beta gamma"] * 3]


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
    original = AgentStream.render_line

    def counting_render_line(self, y: int):
        drawn.append(y)
        return original(self, y)

    monkeypatch.setattr(AgentStream, "render_line", counting_render_line)
    app = StreamApp()
    async with app.run_test(size=(80, 24)) as pilot:
        stream = app.query_one(AgentStream)
        for n in range(3_000):
            stream.feed(tool_call("t1", f"file{n}.py"))
        await stream.flush_view()
        await pilot.pause()
        assert stream.virtual_size.height >= 3_000
        drawn.clear()
        stream.refresh()
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
        assert deck.streams["t2"].text_lines() == ["── running", "", "working on t2"]


async def test_a_theme_change_re_renders_the_rows_but_focus_does_not(renders):
    rendered = renders
    app = StreamApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = "textual-dark"
        stream = app.query_one(AgentStream)
        for n in range(5):
            stream.feed(tool_call("t1", f"file{n}.py"))
        await stream.flush_view()
        await pilot.pause()
        colour = stream._lines[0][0].style.color
        rendered.clear()
        stream.focus()
        await pilot.pause()
        await stream.flush_view()
        assert rendered == []  # the rows do not depend on focus
        app.theme = "textual-light"
        await pilot.pause()
        await stream.flush_view()
        assert len(rendered) == 5 and stream._lines[0][0].style.color != colour
        assert stream._code_theme == "friendly"  # code blocks highlighted for a light background


async def test_markdown_is_drawn_in_the_themes_colours_not_richs_defaults():
    app = StreamApp()
    async with app.run_test(size=(80, 24)) as pilot:
        stream = app.query_one(AgentStream)
        stream.feed(text("t1", "Use `invoice_rows` here.\n\n"))
        await stream.flush_view()
        await pilot.pause()
        (code,) = [segment for line in stream._lines for segment in line if segment.text == "invoice_rows"]
        assert code.style == stream.get_component_rich_style("transcript--code")


async def test_a_block_cut_for_length_reads_on_without_a_gap():
    app = StreamApp()
    async with app.run_test(size=(80, 24)) as pilot:
        stream = app.query_one(AgentStream)
        stream.transcript.live_limit = 100
        stream.feed(event("task_updated", task_id="t1", status="running", agent="coder"))
        await stream.flush_view()
        for n in range(20):
            stream.feed(text("t1", f"line {n}\n"))
        await stream.flush_view()
        await pilot.pause()
        rows = stream.text_lines()
        assert len(stream.transcript.entries) == 2 and stream.transcript.live_continues  # cut once, still live
        assert rows[:2] == ["── running", ""] and "" not in rows[2:]  # one block, in two parts: no gap
        assert rows[-1].endswith("line 19")


async def test_text_in_a_stream_can_be_selected_and_copied():
    app = StreamApp()
    async with app.run_test(size=(80, 24)) as pilot:
        stream = app.query_one(AgentStream)
        stream.feed(event("task_updated", task_id="t1", status="running", agent="coder"))
        stream.feed(text("t1", "The exporter writes one row per invoice.\n\nDone."))
        await stream.flush_view()
        await pilot.pause()
        selection = Selection.from_offsets(Offset(4, 2), Offset(12, 2))
        assert stream.get_selection(selection) == ("exporter", "\n")
        app.screen.selections = {stream: selection}
        await pilot.pause()
        highlight = app.screen.get_component_rich_style("screen--selection")
        row = stream.render_line(2)
        chosen = [segment for segment in row if segment.style and segment.style.bgcolor == highlight.bgcolor]
        assert "".join(segment.text for segment in chosen) == "exporter"
        app.screen.clear_selection()
        await pilot.mouse_down(stream, offset=(6, 3))  # the border and padding, then row 2, column 4
        await pilot.hover(stream, offset=(14, 3))
        await pilot.mouse_up(stream, offset=(14, 3))
        await pilot.press("ctrl+c")
        assert app.clipboard.strip() == "exporter"
