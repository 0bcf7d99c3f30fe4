"""The plan: a goal broken into tasks with dependencies, validated before anything runs."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

PLAN_TASK_ID = "plan"  # the planner's own task, shown in the tree above the plan it produces
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class PlanError(ValueError):
    """A plan that cannot run: one line saying what is wrong."""


@dataclass
class Task:
    id: str
    title: str
    description: str = ""
    agent: str = "coder"
    depends_on: list[str] = field(default_factory=list)
    model: str | None = None  # set by a reassign; None means the agent's configured model

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Task":
        return cls(
            id=str(raw["id"]),
            title=str(raw.get("title") or raw["id"]),
            description=str(raw.get("description") or ""),
            agent=str(raw.get("agent") or "coder"),
            depends_on=[str(d) for d in raw.get("depends_on") or []],
            model=raw.get("model"),
        )


def parse_tasks(raw_tasks: Any, agents: Iterable[str], existing: Iterable[str] = ()) -> list[Task]:
    """Turn a submitted plan into tasks, or raise PlanError naming the first problem.

    `existing` are ids already in the session (a task added later may depend on them).
    """
    if not isinstance(raw_tasks, list) or not raw_tasks:
        raise PlanError("a plan needs a non-empty list of tasks")
    known_agents = set(agents)
    tasks: list[Task] = []
    for index, raw in enumerate(raw_tasks, 1):
        if not isinstance(raw, Mapping) or not raw.get("id"):
            raise PlanError(f"task {index}: expected an object with an id")
        deps = raw.get("depends_on") or []
        if not isinstance(deps, list):
            raise PlanError(f"task {raw['id']}: depends_on must be a list of task ids")
        task = Task.from_dict(raw)
        if not _ID_RE.match(task.id) or task.id == PLAN_TASK_ID:
            raise PlanError(f"task id {task.id!r} is not allowed (letters, digits, '.', '_', '-'; not 'plan')")
        if task.agent not in known_agents:
            raise PlanError(f"task {task.id}: unknown agent {task.agent!r} (known: {', '.join(sorted(known_agents))})")
        tasks.append(task)
    check_graph(tasks, existing)
    return tasks


def check_graph(tasks: list[Task], existing: Iterable[str] = ()) -> None:
    """Reject duplicate ids, unknown dependencies and cycles."""
    ids = [t.id for t in tasks]
    seen: set[str] = set()
    for task_id in ids:
        if task_id in seen:
            raise PlanError(f"duplicate task id {task_id!r}")
        seen.add(task_id)
    known = seen | set(existing)
    for task in tasks:
        for dep in task.depends_on:
            if dep not in known:
                raise PlanError(f"task {task.id} depends on unknown task {dep!r}")
            if dep == task.id:
                raise PlanError(f"task {task.id} depends on itself")
    cycle = find_cycle({t.id: t.depends_on for t in tasks})
    if cycle:
        raise PlanError("dependency cycle: " + " -> ".join(cycle))


def find_cycle(graph: Mapping[str, list[str]]) -> list[str] | None:
    """A cycle as a path that returns to its start, or None (iterative DFS, so deep plans cannot overflow)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for root in graph:
        if state.get(root):
            continue
        path: list[str] = []
        stack: list[tuple[str, Iterable[str]]] = [(root, iter(graph.get(root, ())))]
        state[root] = 1
        path.append(root)
        while stack:
            node, deps = stack[-1]
            dep = next(iter(deps), None)
            if dep is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if not state.get(dep):
                state[dep] = 1
                path.append(dep)
                stack.append((dep, iter(graph.get(dep, ()))))
    return None


def ready_ids(tasks: Iterable[Task], status: Mapping[str, str]) -> list[str]:
    """Pending tasks whose every dependency is done, in plan order."""
    return [
        t.id
        for t in tasks
        if status.get(t.id) in ("pending", "ready") and all(status.get(dep) == "done" for dep in t.depends_on)
    ]


def blocked_ids(tasks: Iterable[Task], status: Mapping[str, str]) -> list[str]:
    """Pending tasks that can never run because a dependency failed or was cancelled."""
    dead = {"failed", "cancelled"}
    by_id = {t.id: t for t in tasks}
    blocked: list[str] = []

    def is_blocked(task_id: str, seen: frozenset[str] = frozenset()) -> bool:
        if task_id in seen:
            return False
        task = by_id[task_id]
        for dep in task.depends_on:
            if status.get(dep) in dead or (dep in by_id and is_blocked(dep, seen | {task_id})):
                return True
        return False

    for task in by_id.values():
        if status.get(task.id) in ("pending", "ready") and is_blocked(task.id):
            blocked.append(task.id)
    return blocked
