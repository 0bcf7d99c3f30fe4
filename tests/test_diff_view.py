"""The diff view draws only what is on screen, moves and toggles hunks, and pins findings to their lines."""

from __future__ import annotations

from textual.app import App, ComposeResult

from cockpit.state import ChangeState
from cockpit.widgets.changes_pane import ChangesPane
from cockpit.widgets.diff_layout import Row, layout_diff
from cockpit.widgets.diff_view import DiffView

SMALL_DIFF = """\
diff --git a/b.bin b/b.bin
index 88768ef..3e3315e 100644
Binary files a/b.bin and b/b.bin differ
diff --git a/notes.txt b/notes.txt
index 1c943a9..36ef1ba 100644
--- a/notes.txt
+++ b/notes.txt
@@ -1,3 +1,3 @@
 a
-b
+B
 c
\\ No newline at end of file
diff --git a/app/m.py b/app/m.py
index 7d4290a..3a5329b 100644
--- a/app/m.py
+++ b/app/m.py
@@ -1,2 +1,3 @@
-x = 1
+x = 2  # the answer
+y = "s"
 z = 3
@@ -20,3 +21,3 @@ def f():
     a = 1
-    return a
+    return a + 1
     # end
"""


def big_diff(files: int = 10, hunks: int = 20, lines: int = 100) -> str:
    """A Python diff of files * hunks * (lines + 1) rows plus headers: 20,240 lines with the defaults."""
    out = []
    for f in range(files):
        out += [f"diff --git a/pkg/mod{f}.py b/pkg/mod{f}.py", "index 1111111..2222222 100644",
                f"--- a/pkg/mod{f}.py", f"+++ b/pkg/mod{f}.py"]
        for h in range(hunks):
            body = [("+" if i % 3 == 0 else " ") + f"def func_{i}(x):  # comment {i}" for i in range(lines)]
            old = sum(line.startswith(" ") for line in body)
            start = h * 200 + 1
            out.append(f"@@ -{start},{old} +{start},{len(body)} @@")
            out += body
    return "\n".join(out) + "\n"


class _Host(App):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[object] = []

    def compose(self) -> ComposeResult:
        yield DiffView()

    def on_diff_view_hunk_selected(self, message: DiffView.HunkSelected) -> None:
        self.messages.append(("selected", message.index))

    def on_diff_view_hunk_toggled(self, message: DiffView.HunkToggled) -> None:
        self.messages.append(("toggled", message.index, message.selected))


def _row_of(view: DiffView, kind: Row, text: str) -> int:
    layout = view._layout
    return next(row for row in range(len(layout)) if layout.kinds[row] == kind and layout.texts[row] == text)


def _strip_at(view: DiffView, row: int):
    """The strip drawn for a row, which must be on screen."""
    return view.render_line(row - view.scroll_offset.y)


async def test_twenty_thousand_line_diff_renders_only_the_visible_rows():
    diff = big_diff()
    assert diff.count("\n") > 20_000
    app = _Host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(DiffView)
        view.show_diff(diff)
        assert view.highlighted_lines == 0  # show_diff highlights nothing up front
        view.focus()
        await pilot.pause()
        assert 0 < view.rendered_lines < 200
        assert view.highlighted_lines < 200
        before = view.rendered_lines
        await pilot.press("end")
        await pilot.pause()
        assert view.scroll_offset.y == view.line_count - view.scrollable_content_region.height
        assert 0 < view.rendered_lines - before < 200
        last = view.line_count - 1
        assert "func_99" in _strip_at(view, last).text


async def test_bracket_keys_move_between_hunks_and_report_the_current_one():
    app = _Host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(DiffView)
        view.show_diff(SMALL_DIFF)
        view.focus()
        await pilot.pause()
        assert view.hunk_keys == [("notes.txt", 0), ("app/m.py", 0), ("app/m.py", 1)]
        assert [hunk.file for hunk in view.hunks] == ["notes.txt", "app/m.py", "app/m.py"]
        assert view.current_hunk == 0
        await pilot.press("right_square_bracket", "right_square_bracket")
        await pilot.pause()
        assert view.current_hunk == 2
        await pilot.press("right_square_bracket")  # past the last hunk: stays there
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert view.current_hunk == 1
        assert app.messages == [("selected", 1), ("selected", 2), ("selected", 1)]
        header = view.hunks[1].start_line
        assert _strip_at(view, header).text.strip().startswith("[x] @@ -1,2 +1,3 @@")


async def test_space_deselects_the_current_hunk_and_dims_it():
    app = _Host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(DiffView)
        view.show_diff(SMALL_DIFF)
        view.focus()
        await pilot.pause()
        assert view.selected_hunks == {0, 1, 2}  # all selected after show_diff
        await pilot.press("right_square_bracket", "space")
        await pilot.pause()
        assert view.selected_hunks == {0, 2}
        assert ("toggled", 1, False) in app.messages
        assert view.selected_hunk_keys() == {("notes.txt", 0), ("app/m.py", 1), ("b.bin", 0)}
        header = view.hunks[1].start_line
        assert "[ ] @@" in _strip_at(view, header).text
        code = [segment for segment in _strip_at(view, header + 1) if segment.text.strip()][1:]  # past the gutter
        assert "".join(segment.text for segment in code).strip() == "-x = 1"
        assert all(segment.style.dim for segment in code)
        kept = [segment for segment in _strip_at(view, view.hunks[0].start_line + 1) if segment.text.strip()][1:]
        assert kept and not any(segment.style.dim for segment in kept)
        await pilot.press("space")
        assert view.selected_hunks == {0, 1, 2}
        assert app.messages[-1] == ("toggled", 1, True)


async def test_finding_is_marked_in_the_gutter_and_shown_under_its_line():
    finding = {"severity": "high", "path": "app/m.py", "line": 2, "message": "hard-coded secret"}
    app = _Host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(DiffView)
        view.show_diff(SMALL_DIFF, findings=[finding])
        await pilot.pause()
        target = _row_of(view, Row.ADDED, '+y = "s"')  # new line 2 of app/m.py
        view.scroll_to(y=target - 3, animate=False)
        await pilot.pause()
        line = _strip_at(view, target).text
        assert "●" in line and line.index("●") < line.index('+y = "s"')
        annotation = _strip_at(view, target + 1).text
        assert "HIGH" in annotation and "hard-coded secret" in annotation
        # the annotation belongs to the hunk it sits in, so toggling that hunk dims it too
        assert view.hunks[1].start_line < target + 1 <= view.hunks[1].end_line


def test_findings_off_the_diff_lines_go_under_the_file_or_on_top():
    findings = [
        {"severity": "medium", "path": "./notes.txt", "line": 40, "message": "not in a hunk"},
        {"severity": "low", "path": "elsewhere.py", "line": 3, "message": "another file"},
    ]
    layout = layout_diff(SMALL_DIFF, findings)
    assert layout.kinds[0] == Row.FINDING and "elsewhere.py:3: another file" in layout.texts[0]
    notes = layout.texts.index("notes.txt  +1 −1")
    assert layout.kinds[notes + 1] == Row.FINDING and "line 40: not in a hunk" in layout.texts[notes + 1]
    assert layout.finding_levels[notes + 1] == "medium"


async def test_python_line_is_syntax_highlighted_with_several_styles():
    app = _Host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(DiffView)
        view.show_diff(SMALL_DIFF)
        await pilot.pause()
        row = _row_of(view, Row.ADDED, "+x = 2  # the answer")
        strip = _strip_at(view, row)
        code = [segment for segment in strip if segment.text.strip()][1:]  # past the gutter numbers
        assert len({segment.style.color for segment in code}) > 1
        assert len({segment.style.bgcolor for segment in code}) == 1  # one row tint under all tokens
        text_row = _row_of(view, Row.ADDED, "+B")  # notes.txt has no lexer: plain, one style
        assert len({segment.style for segment in _strip_at(view, text_row) if segment.text.strip()}) <= 2


def test_binary_files_and_missing_newline_are_shown_without_line_numbers():
    layout = layout_diff(SMALL_DIFF)
    assert layout.texts[0] == "b.bin  (binary)"
    assert layout.kinds[1] == Row.META and layout.texts[1].startswith("Binary files")
    no_newline = layout.kinds.index(Row.NO_NEWLINE)
    assert layout.old_numbers[no_newline] == 0 and layout.new_numbers[no_newline] == 0
    assert layout.hunkless_files() == ["b.bin"]


def test_text_that_is_not_a_git_diff_is_shown_as_plain_rows():
    layout = layout_diff("just some\ntext\n")
    assert [Row(kind) for kind in layout.kinds] == [Row.PLAIN, Row.PLAIN]
    assert layout.hunks == []


class _PaneHost(App):
    def __init__(self) -> None:
        super().__init__()
        self.highlighted: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield ChangesPane()

    def on_changes_pane_change_highlighted(self, message: ChangesPane.ChangeHighlighted) -> None:
        self.highlighted.append(message.change_id)


def _change(change_id: str, status: str = "pending", diff: str = SMALL_DIFF) -> ChangeState:
    return ChangeState(change_id, f"task-{change_id}", ["notes.txt", "app/m.py"], diff, "base", "commit", status)


async def test_changes_pane_keeps_the_highlighted_change_and_its_layout_across_updates():
    app = _PaneHost()
    async with app.run_test(size=(80, 30)) as pilot:
        pane = app.query_one(ChangesPane)
        other = SMALL_DIFF.replace("x = 2", "x = 3")
        pane.update_changes([_change("c1", "applied"), _change("c2", diff=other)])
        await pilot.pause()
        assert pane.selected_change_id == "c2"  # the first change still waiting for review
        layout = pane.diff_view._layout
        pane.update_changes([_change("c1", "applied"), _change("c2", diff=other), _change("c3", "conflicted")])
        await pilot.pause()
        assert pane.selected_change_id == "c2"
        assert pane.diff_view._layout is layout  # same diff text: not laid out again
        pane.set_findings([{"severity": "low", "path": "app/m.py", "line": 1, "message": "nit"},
                           {"severity": "high", "path": "unrelated.py", "line": 1, "message": "not this change"}])
        texts = pane.diff_view._layout.texts
        assert any("nit" in text for text in texts) and not any("not this change" in text for text in texts)
        await pilot.click("#change-list", offset=(4, 0))
        await pilot.pause()
        assert pane.selected_change_id == "c1"
        assert app.highlighted == ["c2", "c1"]
