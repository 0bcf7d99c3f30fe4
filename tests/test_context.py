"""What an agent sees: the brief is rebuilt each call, and only old observations are condensed to fit a window."""

from cockpit import context
from cockpit.plan import PLAN_TASK_ID, Task


def test_brief_has_goal_task_and_shared_context_in_the_documented_format():
    task = Task("t1", "Add CSV export", "Write invoicer/export.py", "coder")
    text = context.brief("Ship CSV", task, "prefer the csv module", [task])
    assert text.startswith("# Goal\nShip CSV\n\n# Task t1: Add CSV export\nWrite invoicer/export.py\n\n# Shared context\n")
    assert "prefer the csv module" in text
    planner = context.brief("Ship CSV", Task(PLAN_TASK_ID, "Plan the work", "", "planner"), "")
    assert "# Task plan: Plan the work" in planner


def test_project_instructions_come_from_agents_md_then_claude_md(tmp_path):
    assert context.read_instructions(tmp_path) == ""
    (tmp_path / "CLAUDE.md").write_text("use tabs")
    assert "CLAUDE.md" in context.read_instructions(tmp_path)
    (tmp_path / "AGENTS.md").write_text("use spaces")
    assert "use spaces" in context.read_instructions(tmp_path)


def test_condensing_drops_old_observations_but_never_the_brief():
    history = []
    for i in range(20):
        history.append({"role": "assistant", "content": f"step {i}", "tool_calls": []})
        history.append({"role": "tool", "tool_call_id": str(i), "content": "x" * 4000})
    system, brief = "SYSTEM PROMPT", "# Goal\nthe brief"
    context.fit_to_window(system, brief, history, window=8000)
    messages = context.build_messages(system, brief, history)
    assert messages[0]["content"] == system and messages[1]["content"] == brief
    assert context.estimate_tokens(messages) <= 8000 * 0.8
    assert history[-1]["content"] == "x" * 4000  # the newest observation is kept whole
    assert history[1]["content"] == context.CONDENSED
    assert [m["content"] for m in history if m["role"] == "assistant"] == [f"step {i}" for i in range(20)]
