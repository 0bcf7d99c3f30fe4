"""The test results pane counts every outcome on its own and opens failures with their message."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from cockpit.widgets.test_results import ResultsTree, TestResults, outcome_counts, summary_text


def _test(name: str, file: str, outcome: str, message: str = "", duration: float = 0.01) -> dict:
    return {"name": name, "file": file, "outcome": outcome, "duration": duration, "message": message}


RUN = {
    "task_id": "t1", "passed": 12, "failed": 1, "errors": 0, "skipped": 2,
    "tests": [
        *(_test(f"test_ok_{i}", "tests/test_a.py", "passed") for i in range(12)),
        _test("test_total", "tests/test_b.py", "failed", "assert 3 == 4\n  where 3 = total([1, 2])"),
        _test("test_net", "tests/test_b.py", "skipped", "needs network"),
        _test("test_gpu", "tests/test_c.py", "skipped", "needs a GPU"),
    ],
}


class _Host(App):
    def compose(self) -> ComposeResult:
        yield TestResults()


def _tree_lines(tree: ResultsTree) -> list[str]:
    return [tree.render_line(y).text.rstrip() for y in range(tree.size.height)]


async def test_summary_counts_each_outcome_exactly_and_never_skipped_as_passed():
    app = _Host()
    async with app.run_test(size=(80, 30)) as pilot:
        results = app.query_one(TestResults)
        results.show_run("t1", RUN)
        await pilot.pause()
        assert results.summary() == "12 passed, 1 failed, 2 skipped"
        shown = app.query_one("#test-summary", Static).render()
        assert str(shown) == "12 passed, 1 failed, 2 skipped"


async def test_failure_is_expanded_with_its_message_and_passing_files_stay_closed():
    app = _Host()
    async with app.run_test(size=(80, 30)) as pilot:
        results = app.query_one(TestResults)
        results.show_run("t1", RUN)
        await pilot.pause()
        lines = _tree_lines(app.query_one(ResultsTree))
        text = "\n".join(lines)
        assert "✗ test_total" in text
        assert "assert 3 == 4" in text and "where 3 = total([1, 2])" in text
        assert "test_ok_0" not in text  # an all-passing file stays closed
        assert any("tests/test_a.py" in line and "12 passed" in line for line in lines)
        assert any("○ tests/test_c.py" in line and "1 skipped" in line for line in lines)


async def test_runs_of_several_tasks_are_summed_and_grouped_by_task():
    other = {"task_id": "t2", "passed": 1, "failed": 0, "errors": 1, "skipped": 0,
             "tests": [_test("test_x", "tests/test_x.py", "passed"),
                       _test("test_y", "tests/test_x.py", "error", "fixture 'db' not found")]}
    app = _Host()
    async with app.run_test(size=(80, 40)) as pilot:
        results = app.query_one(TestResults)
        results.show_runs({"t1": RUN, "t2": other})
        await pilot.pause()
        assert results.summary() == "13 passed, 1 failed, 1 error, 2 skipped"
        text = "\n".join(_tree_lines(app.query_one(ResultsTree)))
        assert "t1  12 passed, 1 failed, 2 skipped" in text and "! t2  1 passed, 1 error" in text
        assert "fixture 'db' not found" in text


def test_counts_come_from_the_tests_when_the_run_lacks_them():
    run = {"tests": [_test("a", "f.py", "passed"), _test("b", "f.py", "xfail"), _test("c", "f.py", "xpass")]}
    counts = outcome_counts(run)
    assert counts == {"passed": 1, "failed": 0, "error": 0, "skipped": 0, "xfail": 1, "xpass": 1}
    assert summary_text(counts) == "1 passed, 1 xfailed, 1 xpassed"
    assert summary_text(outcome_counts({"tests": []})) == "no tests ran"
