"""The offline model's generic play, for any goal but the demo's: harmless, honest about being scripted, and
complete end to end (plan, a notes file, a test run, an empty review, next steps, a commit message).

Also the generic answers to late user messages (a rejection reason, "the user edited ...").
"""

from __future__ import annotations

import re
from collections.abc import Callable

from cockpit.offline.play_kit import (
    Brief, Exchange, Observation, Script, call, cap_first, finish_turn, first_line, listed_paths, mentioned_paths,
    quote, summarise_paths, tests_sentence,
)

NOTES_MARKER = "_Next steps: to be written by the docs task._\n"


def generic_planner(brief: Brief) -> Script:
    listing = yield call("Let me see what is in this repository before splitting the goal.", "list_files")
    yield from generic_plan_from_listing(brief, listing)


def generic_plan_from_listing(brief: Brief, listing: Observation) -> Script:
    count = len(listed_paths(listing.text))
    tasks = [
        {"id": "t1", "title": "Survey the code", "agent": "coder", "depends_on": [],
         "description": "List the project's files and write NOTES.md: what is where, and how it bears on the goal."},
        {"id": "t2", "title": "Run the test suite", "agent": "tester", "depends_on": [],
         "description": "Run the configured tests and report the counts, so we know the starting point."},
        {"id": "t3", "title": "Write up next steps", "agent": "docs", "depends_on": ["t1"],
         "description": "Read NOTES.md and add a short 'Next steps' section for the goal."},
    ]
    text = (f"The repository lists {count} files. I am the built-in offline model, so I will not attempt the goal "
            "itself; I propose a safe survey instead: a coder maps the code into NOTES.md while a tester runs the "
            "suite in parallel, then docs adds next steps.")
    yield call(text, "submit_plan", tasks=tasks)
    yield finish_turn("Plan submitted.", "Proposed 3 tasks: survey the code (t1) and run the tests (t2) in "
                      "parallel, then write up next steps (t3).")


def generic_coder(brief: Brief) -> Script:
    listing = yield call("I will start by listing the files to see how the project is laid out.", "list_files")
    paths = listed_paths(listing.text)
    target = f"NOTES-{brief.task_id or 'task'}.md" if "NOTES.md" in paths else "NOTES.md"
    lines = [f"# Notes: {brief.title or 'survey'}", "", f"Goal: {quote(brief.goal, 300)}", "",
             "## What is where", *summarise_paths(paths), "", "## Next steps", NOTES_MARKER]
    wrote = yield call(f"Writing what I found to {target}; it is a notes file, so it cannot break anything.",
                       "write_file", path=target, content="\n".join(lines))
    if wrote.failed:
        yield finish_turn("The write was refused.", f"Could not write {target}: {first_line(wrote.text)}")
        return
    yield finish_turn("The notes are written.", f"Wrote {target}: a map of the {len(paths)} files listed, "
                      "for the next tasks to build on.")


def generic_tester(brief: Brief) -> Script:
    result = yield call("Running the project's test suite to see where things stand.", "run_tests")
    sentence, green = tests_sentence(result)
    verdict = "The suite is green." if green else "The suite is not green; see the failures above."
    yield finish_turn(verdict, f"Ran the test suite; {sentence}.")


def generic_reviewer(brief: Brief) -> Script:
    listing = yield call("Listing the files in scope for the review.", "list_files")
    count = len(listed_paths(listing.text))
    yield call("A quick offline pass finds nothing I can point to with confidence, so I report no findings.",
               "report_findings", findings=[])
    yield finish_turn("Review done.", f"Looked over {count} files; no findings (the offline model does not do a "
                      "real security review: use a real model for that).")


def generic_docs(brief: Brief) -> Script:
    notes = yield call("Reading NOTES.md, where the survey should have left its findings.", "read_file",
                       path="NOTES.md")
    if notes.failed or NOTES_MARKER.strip() not in notes.text:
        yield finish_turn("There is no survey to extend.", "NOTES.md is missing or was not written by the survey "
                          "task, so I left the documentation unchanged.")
        return
    steps = ("1. Read the modules closest to the goal and note their tests.\n"
             "2. Write a failing test that states the goal's behaviour.\n"
             "3. Make the change in small steps, running the tests after each.\n")
    edited = yield call("Replacing the placeholder with concrete next steps.", "edit_file", path="NOTES.md",
                        old_text=NOTES_MARKER, new_text=steps)
    summary = "Added next steps to NOTES.md." if not edited.failed else f"Could not edit NOTES.md: {edited.text}"
    yield finish_turn("Done with the notes.", summary)


def generic_release(brief: Brief) -> Script:
    subject = quote(brief.goal.splitlines()[0] if brief.goal else "update", 60).rstrip(".").lower()
    changelog = yield call("Checking for a changelog to record the change in.", "read_file", path="CHANGELOG.md")
    if not changelog.failed and changelog.text.count("## [Unreleased]\n") == 1:
        edited = yield call("Adding a line under Unreleased; I leave version numbers to you.", "edit_file",
                            path="CHANGELOG.md", old_text="## [Unreleased]\n",
                            new_text=f"## [Unreleased]\n- {quote(brief.goal, 200)}\n")
        note = "Added an Unreleased line to CHANGELOG.md." if not edited.failed else "CHANGELOG.md was not edited."
    else:
        note = "No CHANGELOG.md with an Unreleased section, so I changed no files."
    yield finish_turn("Release notes done.", f"{note}\n\nCommit message:\nchore: {subject}")


GENERIC_SCRIPTS: dict[str, Callable[[Brief], Script]] = {
    "planner": generic_planner, "coder": generic_coder, "tester": generic_tester,
    "reviewer": generic_reviewer, "docs": generic_docs, "release": generic_release,
}


# ----------------------------------------------------------------------------------------------- revisions


def generic_revision(
    role: str, brief: Brief, notes: list[str], history: list[Exchange], prior_summary: str
) -> Script:
    """Answer a late user message: re-read what it names (or what this task touched), re-check, finish again.

    `prior_summary` is what the task had concluded before the message (its finish, answered by this one instead).
    """
    feedback = "\n".join(notes)
    touched = list(dict.fromkeys(str(args.get("path")) for ex in history for name, args, _ in ex.calls
                                 if name in ("write_file", "edit_file") and args.get("path")))
    paths = mentioned_paths(feedback) or touched[:2]
    for path in paths:
        yield call(f"Re-reading {path} in light of the new message.", "read_file", path=path)
    sentence = ""
    # Only the roles that have run_tests in their tool list re-run the suite.
    if role == "tester" or (any(path.endswith(".py") for path in touched) and role == "coder"):
        result = yield call("Re-running the tests to check my work still holds.", "run_tests")
        sentence = " " + cap_first(tests_sentence(result)[0]) + "."
    outcome = ("The offline model cannot rework a change beyond its script, so mine stands as proposed."
               if touched else "I changed no files.")
    before = f"{prior_summary.strip()}\n\n" if prior_summary.strip() else ""
    yield finish_turn("I have re-checked my work.", f"{before}Then re-checked {', '.join(paths) or 'the task'} "
                      f"after the message \"{quote(gist(feedback))}\". {outcome}{sentence}")


def revise_plan(brief: Brief, notes: list[str], history: list[Exchange]) -> Script:
    """Resubmit the last plan, dropping the tasks the user asked to drop (by id or agent)."""
    feedback = "\n".join(notes)
    tasks = next((args.get("tasks") for ex in reversed(history) for name, args, _ in ex.calls
                  if name == "submit_plan" and isinstance(args.get("tasks"), list)), None)
    if not tasks:
        yield finish_turn("I have no plan to revise.", f"Could not revise the plan after: \"{quote(feedback)}\".")
        return
    kept = drop_tasks(tasks, feedback)
    dropped = [task["id"] for task in tasks if task not in kept and task.get("id")]
    change = f"I dropped {', '.join(dropped)} as asked" if dropped else "I found nothing to drop in the feedback"
    yield call(f"{change} and resubmit the plan.", "submit_plan", tasks=kept)
    yield finish_turn("Plan resubmitted.", f"Resubmitted {len(kept)} tasks after: \"{quote(gist(feedback))}\".")


def gist(feedback: str) -> str:
    """The human's own words in an engine note ("... Reason: <words>\nRevise it ..."), else the whole note."""
    reason = re.search(r"Reason:\s*(.+)", feedback)
    return reason.group(1).strip() if reason else feedback


def drop_tasks(tasks: list[dict], feedback: str) -> list[dict]:
    """The tasks the feedback does not ask to drop; dependencies on a dropped task pass to its own dependencies."""
    def asked_to_drop(task: dict) -> bool:
        names = "|".join(re.escape(str(task.get(key, ""))) for key in ("id", "agent") if task.get(key))
        pattern = rf"\b(?:drop|remove|skip|without|no)\b[^.;\n]*?\b(?:{names})\b"
        return bool(names) and re.search(pattern, feedback, re.IGNORECASE) is not None

    dropped = {task.get("id") for task in tasks if asked_to_drop(task)}
    by_id = {task.get("id"): task for task in tasks}

    def live_deps(deps: list[str], seen: frozenset[str] = frozenset()) -> list[str]:
        result: list[str] = []
        for dep in deps:
            if dep in dropped and dep not in seen:
                result += live_deps(by_id.get(dep, {}).get("depends_on", []), seen | {dep})
            elif dep not in dropped and dep not in result:
                result.append(dep)
        return list(dict.fromkeys(result))

    return [{**task, "depends_on": live_deps(task.get("depends_on", []))}
            for task in tasks if task.get("id") not in dropped]
