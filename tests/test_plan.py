"""The plan model: validation of submitted plans and the ready set derived from dependencies."""

import pytest

from cockpit.plan import PlanError, Task, blocked_ids, find_cycle, parse_tasks, ready_ids

AGENTS = {"coder", "tester", "reviewer", "docs", "release", "planner"}


def _t(id_, deps=(), agent="coder"):
    return {"id": id_, "title": f"task {id_}", "agent": agent, "depends_on": list(deps)}


def test_valid_plan_is_parsed_in_order():
    tasks = parse_tasks([_t("t1"), _t("t2"), _t("t3", ["t1", "t2"], "tester")], AGENTS)
    assert [t.id for t in tasks] == ["t1", "t2", "t3"]
    assert tasks[2].depends_on == ["t1", "t2"] and tasks[2].agent == "tester"


@pytest.mark.parametrize(
    "tasks, message",
    [
        ([], "non-empty list"),
        ([_t("t1"), _t("t1")], "duplicate task id 't1'"),
        ([_t("t1", ["nope"])], "t1 depends on unknown task 'nope'"),
        ([_t("t1", ["t1"])], "t1 depends on itself"),
        ([_t("t1", agent="wizard")], "unknown agent 'wizard'"),
        ([_t("bad id")], "not allowed"),
        ([_t("plan")], "not allowed"),
        ([{"title": "no id"}], "expected an object with an id"),
        ([{"id": "t1", "depends_on": "t0"}], "depends_on must be a list"),
    ],
)
def test_bad_plans_are_rejected_with_one_line(tasks, message):
    with pytest.raises(PlanError) as info:
        parse_tasks(tasks, AGENTS)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_dependency_cycle_is_rejected_naming_the_cycle():
    with pytest.raises(PlanError, match=r"dependency cycle: t2 -> t4 -> t3 -> t2"):
        parse_tasks([_t("t1"), _t("t2", ["t4", "t1"]), _t("t3", ["t2"]), _t("t4", ["t3"])], AGENTS)


def test_find_cycle_handles_long_chains_without_recursion():
    graph = {f"t{i}": [f"t{i + 1}"] for i in range(5000)}
    graph["t5000"] = []
    assert find_cycle(graph) is None
    graph["t5000"] = ["t0"]
    assert find_cycle(graph)[0] == find_cycle(graph)[-1]


def test_ready_set_follows_dependencies():
    tasks = [Task.from_dict(x) for x in (_t("a"), _t("b"), _t("c", ["a", "b"]), _t("d", ["c"]))]
    status = {"a": "pending", "b": "pending", "c": "pending", "d": "pending"}
    assert ready_ids(tasks, status) == ["a", "b"]
    status.update(a="done", b="running")
    assert ready_ids(tasks, status) == []
    status.update(b="done")
    assert ready_ids(tasks, status) == ["c"]


def test_tasks_behind_a_failed_dependency_are_blocked():
    tasks = [Task.from_dict(x) for x in (_t("a"), _t("b", ["a"]), _t("c", ["b"]), _t("d"))]
    status = {"a": "failed", "b": "pending", "c": "pending", "d": "pending"}
    assert blocked_ids(tasks, status) == ["b", "c"]
