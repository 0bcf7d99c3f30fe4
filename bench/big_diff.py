"""Big diff: a change of L diff lines opened in the diff pane (time to the first paint of it), then a jump to its
end (time to the paint of the last rows); ours against Textual's TextArea showing the same text.

Ours is the real CockpitApp (engine not running) with two changes proposed through the session: a small one,
highlighted first, and the big one. "Open" is highlighting the big change in the changes list, as the cursor
does (`ChangesPane.select_change`); "jump" is the diff view's `end` key. The baseline is a TextArea of the same
size as our diff view, read-only, with line numbers and tree-sitter highlighting (Python: Textual has no diff
grammar, and the diff is of a Python file; without tree-sitter installed it runs unhighlighted and says so):
"open" is `load_text`, "jump" is `scroll_end`. Each is timed to the first painted frame that shows the result,
several times, median.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.common import FrameProbe, Figure, Sizes, make_repo, median, temp_home
from bench.stream_run import APP_SIZE, _first_of

BIG_PATH = "src/ledger.py"


def big_diff(lines: int, path: str = BIG_PATH) -> str:
    """A git diff of about `lines` lines: hunks of 3 context lines, one line changed, 3 context lines."""
    head = [f"diff --git a/{path} b/{path}", "index 1111111..2222222 100644", f"--- a/{path}", f"+++ b/{path}"]
    body: list[str] = []
    hunks = max(1, (lines - len(head)) // 9)
    for hunk in range(hunks):
        start = hunk * 12 + 1
        code = [_code_line(start + offset) for offset in range(7)]
        body.append(f"@@ -{start},7 +{start},7 @@ def block_{hunk}():")
        body += [" " + line for line in code[:3]]
        body.append("-" + code[3])
        body.append("+" + code[3].replace("amount", "amount_due").replace("# ", "# reviewed: "))
        body += [" " + line for line in code[4:]]
    return "\n".join(head + body) + "\n"


def _code_line(number: int) -> str:
    kind = number % 4
    if kind == 0:
        return f"def total_{number}(items, rate=0.{number % 97:02d}):  # sum of line {number}"
    if kind == 1:
        return f"    amount = sum(item.price * item.quantity for item in items) + {number}"
    if kind == 2:
        return f'    label = "invoice {number}: " + str(amount)  # the label'
    return f"    return round(amount * (1 + rate), 2) if amount > {number} else None"


def measure(sizes: Sizes, context: dict[str, Any]) -> list[Figure]:
    diff = big_diff(sizes.diff_lines)
    ours = asyncio.run(_ours(diff, sizes.diff_repeats))
    bare = asyncio.run(_textarea(diff, sizes.diff_repeats, ours["view_size"]))
    details = {"diff_lines": diff.count("\n"), "view_size": ours["view_size"], "highlighting": bare["language"],
               "ours_open_ms": ours["open"], "baseline_open_ms": bare["open"],
               "ours_end_ms": ours["end"], "baseline_end_ms": bare["end"]}
    return [
        Figure(name="big diff: open", unit="ms", ours=median(ours["open"]), baseline=median(bare["open"]),
               target="<= 0.5x", max_ratio=0.5, details=details),
        Figure(name="big diff: jump to end", unit="ms", ours=median(ours["end"]), baseline=median(bare["end"]),
               target="<= 0.5x", max_ratio=0.5, details={"see": "big diff: open"}),
    ]


async def _ours(diff: str, repeats: int) -> dict[str, Any]:
    from cockpit.app import CockpitApp
    from cockpit.engine import open_engine

    repo = make_repo(temp_home() / "repo")
    engine = open_engine(repo, goal="bench: big diff", model="offline", interactive=True)
    app = CockpitApp(engine, run_engine=False)
    probe = FrameProbe(app)
    runner = asyncio.create_task(app.run_async(headless=True, size=APP_SIZE))
    opened, ended = [], []
    try:
        await _first_of(probe.next_frame_where(lambda: bool(app.main_screen.query("#changes"))), runner)
        session = engine.session
        small = big_diff(30, "src/small.py")
        session.emit("plan_proposed", tasks=[{"id": task_id, "title": f"bench {task_id}", "agent": "coder",
                                              "description": "", "depends_on": []} for task_id in ("t1", "t2")])
        for change_id, task_id, text, path in (("t1.1", "t1", small, "src/small.py"), ("t2.1", "t2", diff, BIG_PATH)):
            session.emit("change_proposed", change_id=change_id, task_id=task_id, files=[path], diff=text,
                         base="0" * 40, commit="1" * 40)
        pane = app.main_screen.query_one("#changes")
        view = pane.diff_view
        await _first_of(probe.next_frame_where(lambda: view.diff == small), runner)
        view.focus()
        for _ in range(repeats):
            pane.select_change("t1.1")
            await probe.settle()
            started = time.perf_counter()
            pane.select_change("t2.1")
            opened.append(await probe.next_frame_where(lambda: view.diff == diff and view.rendered_lines > 0)
                          - started)
            await probe.settle()
            started = time.perf_counter()
            view.action_scroll_end()
            ended.append(await probe.next_frame_where(lambda: view.scroll_y >= view.max_scroll_y > 0) - started)
        size = (view.size.width, view.size.height)
    finally:
        app.exit()
        await asyncio.wait_for(runner, 60)
        engine.close()
    return {"open": [round(s * 1000, 2) for s in opened], "end": [round(s * 1000, 2) for s in ended],
            "view_size": size}


async def _textarea(diff: str, repeats: int, view_size: tuple[int, int]) -> dict[str, Any]:
    from textual._tree_sitter import TREE_SITTER
    from textual.widgets import TextArea

    from bench.bare_apps import TextAreaApp

    language = "python" if TREE_SITTER else None
    app = TextAreaApp(language)
    app.CSS = f"TextArea {{ width: {view_size[0]}; height: {view_size[1]}; }}"
    probe = FrameProbe(app)
    runner = asyncio.create_task(app.run_async(headless=True, size=APP_SIZE))
    opened, ended = [], []
    small = big_diff(30, "src/small.py")
    total_lines = diff.count("\n") + 1
    try:
        await _first_of(probe.next_frame_where(lambda: True), runner)
        area = app.query_one(TextArea)
        area.focus()
        for _ in range(repeats):
            area.load_text(small)
            await probe.settle()
            started = time.perf_counter()
            area.load_text(diff)
            opened.append(await probe.next_frame_where(lambda: area.document.line_count == total_lines) - started)
            await probe.settle()
            started = time.perf_counter()
            area.scroll_end(animate=False)
            ended.append(await probe.next_frame_where(lambda: area.scroll_y >= area.max_scroll_y > 0) - started)
    finally:
        app.exit()
        await asyncio.wait_for(runner, 60)
    return {"open": [round(s * 1000, 2) for s in opened], "end": [round(s * 1000, 2) for s in ended],
            "language": language or "none (tree-sitter not installed)"}
