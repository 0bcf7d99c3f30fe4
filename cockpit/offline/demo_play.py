"""The demo session the offline model plays on the sample repo (cockpit/demo_repo.py) for DEMO_GOAL.

Six tasks: two coders in parallel (t1 writes the new invoicer/export.py, t2 edits only invoicer/cli.py, so both
changes apply cleanly to the same tree), then tests, a security review, docs and a release. Every edit below is
written against the exact text of demo_repo.py, and every script checks what the tools answered before it acts.
"""

from __future__ import annotations

import datetime
import re

from cockpit.demo_repo import DEMO_FILES, DEMO_GOAL
from cockpit.offline.demo_content import (
    CHANGELOG_ANCHOR, CLI_EDITS, EXPORT_PATH, EXPORT_PY, FORMULA_EDITS, README_EDITS, TEST_EXPORT_PATH,
    TEST_EXPORT_PY, changelog_entry,
)
from cockpit.offline.generic_play import generic_plan_from_listing
from cockpit.offline.play_kit import Brief, Exchange, Script, call, cap_first, finish_turn, quote, tests_sentence

CLI_PATH = "invoicer/cli.py"
_KNOWN_ROLES = ("planner", "coder", "tester", "reviewer", "docs", "release")


def is_demo_goal(goal: str) -> bool:
    return " ".join(goal.split()).lower() == " ".join(DEMO_GOAL.split()).lower()


def demo_script(role: str, brief: Brief) -> Script | None:
    """The demo play for this role and task, or None to fall back on the generic play."""
    role = role if role in _KNOWN_ROLES else "coder"  # unknown roles work like a coder
    if role == "coder":
        title = brief.title.lower()
        if "--format" in title or "cli" in title:
            return add_format_option(brief)
        if "csv" in title or "export" in title:
            return add_csv_export(brief)
        return None
    return {"planner": plan_demo, "tester": write_demo_tests, "reviewer": review_demo, "docs": document_demo,
            "release": release_demo}[role](brief)


def demo_revision(role: str, brief: Brief, notes: list[str], history: list[Exchange]) -> Script | None:
    """A demo-specific answer to late feedback: the CSV coder can fix the formula injection the reviewer reports."""
    feedback = "\n".join(notes).lower()
    title = brief.title.lower()
    is_csv_coder = (role == "coder" or role not in _KNOWN_ROLES) and "csv" in title and "cli" not in title
    if is_csv_coder and re.search(r"formula|inject|sanitis|sanitiz|spreadsheet|escape", feedback):
        return fix_formula_injection(brief)
    return None


# ----------------------------------------------------------------------------------------------- planner

PLAN = [
    {"id": "t1", "title": "Add CSV export", "agent": "coder", "depends_on": [],
     "description": "Create invoicer/export.py with render_csv(invoices) -> str, built on report.invoice_rows and "
                    "report.COLUMNS with the csv module: a header row, then one row per invoice. Touch no other "
                    "file: t2 edits the CLI at the same time."},
    {"id": "t2", "title": "Add --format option to the CLI", "agent": "coder", "depends_on": [],
     "description": "In invoicer/cli.py add -f/--format with the choices text and csv (default text); csv renders "
                    "through invoicer.export.render_csv, imported on use. Touch only cli.py: t1 writes "
                    "export.py at the same time."},
    {"id": "t3", "title": "Tests for CSV export and --format", "agent": "tester", "depends_on": ["t1", "t2"],
     "description": "Add tests/test_export.py: CSV header and rows, amounts, quoting of names with commas, no "
                    "invoices, and the CLI's --format csv, -o and bad-format paths. Run the whole suite."},
    {"id": "t4", "title": "Security review of the export path", "agent": "reviewer", "depends_on": ["t1", "t2"],
     "description": "Review invoicer/export.py and the CLI change for injection, unsafe file handling and data "
                    "exposure; report findings with a severity and a line."},
    {"id": "t5", "title": "Document CSV export and --format", "agent": "docs", "depends_on": ["t3"],
     "description": "Add an 'Output formats' section and a usage example to README.md."},
    {"id": "t6", "title": "Changelog and version bump", "agent": "release", "depends_on": ["t4", "t5"],
     "description": "Add a 0.3.0 entry to CHANGELOG.md, bump the version in pyproject.toml and "
                    "invoicer/__init__.py (a test checks they match), run the tests and propose a Conventional "
                    "Commits message."},
]

PLAN_TEXT = (
    "Here is the plan. CSV export and the --format flag are independent as long as they live in different files: "
    "t1 writes a new invoicer/export.py on top of `invoice_rows`, and t2 only touches invoicer/cli.py and imports "
    "the exporter when csv is asked for, so the two coders run in parallel and both changes apply cleanly. The "
    "tests (t3) and the security review (t4) need both changes; the README (t5) waits until the tests pin the "
    "behaviour down; the release (t6) goes last, once the review and the docs are in."
)


def plan_demo(brief: Brief) -> Script:
    listing = yield call("Let me look at how the project is laid out before I split the goal.", "list_files")
    if "invoicer" not in listing.text:
        yield from generic_plan_from_listing(brief, listing)
        return
    yield call("AGENTS.md says every output format must be built from `report.invoice_rows`, so I will read the "
               "report module first.", "read_file", path="invoicer/report.py")
    cli = yield call("Now the CLI, to see where the output is chosen and written.", "read_file", path=CLI_PATH)
    if cli.failed:
        yield from generic_plan_from_listing(brief, listing)
        return
    yield call(PLAN_TEXT, "submit_plan", tasks=PLAN)
    yield finish_turn("The plan is submitted.", "Proposed 6 tasks: CSV export (t1) and the --format option (t2) "
                      "in parallel, then tests (t3) and a security review (t4), docs (t5) and the release (t6).")


# ----------------------------------------------------------------------------------------------- coders


def add_csv_export(brief: Brief) -> Script:
    report = yield call("I will start from the report module: every format has to be built from `invoice_rows`.",
                        "read_file", path="invoicer/report.py")
    if report.failed or "def invoice_rows" not in report.text:
        yield finish_turn("The report module is not what I expected.", "Stopped: invoicer/report.py with "
                          "invoice_rows is missing here, so there is nothing to export from; no files changed.")
        return
    written = yield call("`invoice_rows` already yields flat, formatted rows and `COLUMNS` fixes their order, so "
                         "the export is a thin layer over `csv.DictWriter`. Writing invoicer/export.py.",
                         "write_file", path=EXPORT_PATH, content=EXPORT_PY)
    if written.failed:
        yield finish_turn("The write failed.", f"Could not write {EXPORT_PATH}: {quote(written.text)}")
        return
    result = yield call("Running the suite to make sure nothing else moved.", "run_tests")
    sentence, green = tests_sentence(result)
    yield finish_turn("CSV export is in." if green else "The export is written but the suite is not green.",
                      f"Added {EXPORT_PATH} with render_csv(invoices) -> str: a header row, then one row per "
                      f"invoice in the text report's columns; the csv module handles quoting. {cap_first(sentence)}.")


def add_format_option(brief: Brief) -> Script:
    cli = yield call("Reading the CLI to see where the report is rendered and written.", "read_file", path=CLI_PATH)
    if cli.failed:
        yield finish_turn("There is no CLI module here.", f"Stopped: {CLI_PATH} is missing, so there is no CLI to "
                          "add --format to; no files changed.")
        return
    if "--format" in cli.text:
        yield finish_turn("The option is already there.", f"{CLI_PATH} already has --format; nothing to do.")
        return
    for text, old, new in CLI_EDITS:
        if cli.text.count(old) != 1:  # whole lines, so a user's edit to the line is noticed
            yield finish_turn("The CLI has changed since the plan.", f"Stopped before editing: {CLI_PATH} no longer "
                              f"contains `{old.strip()}`, so my edit would not apply.")
            return
    for text, old, new in CLI_EDITS:
        edited = yield call(text, "edit_file", path=CLI_PATH, old_text=old, new_text=new)
        if edited.failed:
            yield finish_turn("An edit did not apply.", f"Stopped: editing {CLI_PATH} failed ({quote(edited.text)}).")
            return
    result = yield call("Running the tests; the text path must be unchanged.", "run_tests")
    sentence, green = tests_sentence(result)
    yield finish_turn("The option is wired in." if green else "The option is in but the suite is not green.",
                      f"Added -f/--format (text, csv; default text) to {CLI_PATH}; csv renders through "
                      f"invoicer.export.render_csv, imported only when asked for. {cap_first(sentence)}.")


def fix_formula_injection(brief: Brief) -> Script:
    current = yield call("Right: cells that start with =, +, - or @ run as formulas in a spreadsheet. Re-reading "
                         "the exporter before I fix it.", "read_file", path=EXPORT_PATH)
    if current.failed or "neutralise_formula" in current.text:
        done = "already neutralises formulas" if not current.failed else "is missing"
        yield finish_turn("Nothing to change.", f"{EXPORT_PATH} {done}; no files changed.")
        return
    for text, old, new in FORMULA_EDITS:
        edited = yield call(text, "edit_file", path=EXPORT_PATH, old_text=old, new_text=new)
        if edited.failed:
            yield finish_turn("The fix did not apply.", f"Could not edit {EXPORT_PATH}: {quote(edited.text)}")
            return
    result = yield call("Running the tests again.", "run_tests")
    yield finish_turn("Fixed.", f"Addressed the CSV injection feedback in {EXPORT_PATH}: text cells (number, "
                      "customer, issued) that start with =, +, -, @, tab or CR now get a leading quote, so "
                      f"spreadsheets show them as text; amounts are untouched. {cap_first(tests_sentence(result)[0])}.")


# ----------------------------------------------------------------------------------------------- tester


def write_demo_tests(brief: Brief) -> Script:
    export = yield call("Checking that both features reached my tree before I test them.", "read_file",
                        path=EXPORT_PATH)
    cli = yield call("And the CLI side.", "read_file", path=CLI_PATH)
    missing = [name for name, present in (("CSV export (invoicer/export.py)", not export.failed),
                                          ("the --format option", "--format" in cli.text)) if not present]
    if missing:
        yield finish_turn("I cannot test what is not there.", f"Stopped: {' and '.join(missing)} is not in this "
                          "tree yet (its change has not been applied), so I wrote no tests.")
        return
    count = TEST_EXPORT_PY.count("\ndef test_")
    written = yield call(f"Both are in. Writing {count} tests: CSV shape, amounts, quoting, the empty case and the "
                         "CLI paths.", "write_file", path=TEST_EXPORT_PATH, content=TEST_EXPORT_PY)
    if written.failed:
        yield finish_turn("The write failed.", f"Could not write {TEST_EXPORT_PATH}: {quote(written.text)}")
        return
    result = yield call("Running the whole suite.", "run_tests")
    sentence, green = tests_sentence(result)
    yield finish_turn("All green." if green else "Some tests fail; reporting them rather than hiding them.",
                      f"Added {TEST_EXPORT_PATH} with {count} tests for CSV export and --format. "
                      f"run_tests: {sentence.removeprefix('tests: ')}.")


# ----------------------------------------------------------------------------------------------- reviewer

FORMULA_FINDING = ("CSV formula injection: invoice numbers and customer names come from the input file and are "
                   "written verbatim, so a cell starting with =, +, - or @ runs as a formula when the CSV is opened "
                   "in a spreadsheet. Prefix such cells with a single quote.")
OVERWRITE_FINDING = ("--output overwrites an existing file without asking; with --format csv it is easy to clobber "
                     "a spreadsheet someone has open. Consider refusing an existing file unless --force is given.")


def review_demo(brief: Brief) -> Script:
    export = yield call("Starting with the new exporter, where untrusted input meets an output format.",
                        "read_file", path=EXPORT_PATH)
    cli = yield call("Now the CLI change: arguments and file handling.", "read_file", path=CLI_PATH)
    findings, titles = [], []
    if not export.failed and "neutralise_formula" not in export.text:
        findings.append({"severity": "medium", "path": EXPORT_PATH, "message": FORMULA_FINDING,
                         "line": find_line(export.text, "writer.writerow(row)", EXPORT_PY)})
        titles.append("medium: CSV formula injection")
    if not cli.failed and "--output" in cli.text:
        findings.append({"severity": "low", "path": CLI_PATH, "message": OVERWRITE_FINDING,
                         "line": find_line(cli.text, "args.output.write_text", _cli_after())})
        titles.append("low: --output overwrites files without asking")
    text = (f"{len(findings)} finding(s), none high: no shell, eval or deserialisation of untrusted data; the "
            "worst is what a spreadsheet does with the exported cells.")
    yield call(text, "report_findings", findings=findings)
    yield finish_turn("Review done.", f"Reviewed {EXPORT_PATH} and {CLI_PATH}: {len(findings)} finding(s) "
                      f"({'; '.join(titles) or 'none'}). No high or critical issues.")


def find_line(result_text: str, marker: str, known_content: str) -> int:
    """The 1-based line of `marker` in the file as read (read_file returns the raw text; a numbered listing gives
    its numbers); if the read was cut before the marker, its line in the content the demo wrote."""
    for index, line in enumerate(result_text.splitlines(), 1):
        if marker in line:
            numbered = re.match(r"\s*(\d+)\s*[:|\t]", line)
            return int(numbered.group(1)) if numbered else index
    lines = known_content.splitlines()
    return next((i for i, line in enumerate(lines, 1) if marker in line), 1)


def _cli_after() -> str:
    text = DEMO_FILES[CLI_PATH]
    for _, old, new in CLI_EDITS:
        text = text.replace(old, new, 1)
    return text


# ----------------------------------------------------------------------------------------------- docs, release


def document_demo(brief: Brief) -> Script:
    readme = yield call("Reading the README to see where output formats belong.", "read_file", path="README.md")
    if readme.failed:
        yield finish_turn("There is no README.", "Stopped: README.md is missing; no files changed.")
        return
    if "## Output formats" in readme.text:
        yield finish_turn("Already documented.", "README.md already has an Output formats section; no change.")
        return
    applied = 0
    for text, old, new in README_EDITS:
        if readme.text.count(old) != 1:  # the user reshaped the README: skip rather than guess
            continue
        edited = yield call(text, "edit_file", path="README.md", old_text=old, new_text=new)
        applied += not edited.failed
    summary = ("Documented CSV export and --format in README.md: a usage example and an Output formats section."
               if applied == len(README_EDITS) else
               f"README.md did not have the expected layout; applied {applied} of {len(README_EDITS)} edits.")
    yield finish_turn("Docs updated.", summary)


def release_demo(brief: Brief) -> Script:
    pyproject = yield call("Reading pyproject.toml for the current version.", "read_file", path="pyproject.toml")
    found = re.search(r'(?:^|\s)version = "(\d+)\.(\d+)\.(\d+)"', pyproject.text, re.MULTILINE)
    if pyproject.failed or not found:
        yield finish_turn("I cannot find the version.", "Stopped: no version in pyproject.toml; no files changed.")
        return
    old = ".".join(found.groups())
    new = f"{found.group(1)}.{int(found.group(2)) + 1}.0"  # new features: a minor bump
    changelog = yield call(f"Version {old}; new features mean {new}. Now the changelog.", "read_file",
                           path="CHANGELOG.md")
    edits = [("pyproject.toml", f'version = "{old}"\n', f'version = "{new}"\n', "Bumping pyproject.toml."),
             ("invoicer/__init__.py", f'__version__ = "{old}"\n', f'__version__ = "{new}"\n',
              "And the package's __version__, which a test keeps equal to pyproject's.")]
    if not changelog.failed and changelog.text.count(CHANGELOG_ANCHOR) == 1:
        entry = changelog_entry(new, datetime.date.today().isoformat())
        edits.insert(0, ("CHANGELOG.md", CHANGELOG_ANCHOR, CHANGELOG_ANCHOR + entry,
                         f"Adding a {new} entry under Unreleased."))
    for path, old_text, new_text, text in edits:
        edited = yield call(text, "edit_file", path=path, old_text=old_text, new_text=new_text)
        if edited.failed:
            yield finish_turn("An edit did not apply.", f"Stopped: editing {path} failed ({quote(edited.text)}).")
            return
    # The release agent has no run_tests: it checks the two version strings agree, as tests/test_cli.py will.
    pattern = rf'version(__)? = "{re.escape(new)}"'
    hits = yield call("Checking that both version strings now agree.", "search_code", pattern=pattern)
    bumped = [path for path in ("pyproject.toml", "invoicer/__init__.py") if f"{path}:" in hits.text]
    agree = (f"pyproject.toml and invoicer/__init__.py both read {new}" if len(bumped) == 2 else
             f"only {', '.join(bumped) or 'neither file'} reads {new}: check the versions before merging")
    yield finish_turn(f"Release {new} is ready.", f"Prepared {new}: {', '.join(path for path, *_ in edits)} "
                      f"updated; {agree}.\n\nCommit message:\nchore(release): {new}\n\n"
                      "- feat(export): CSV export of invoices (render_csv)\n- feat(cli): --format text|csv\n"
                      "- test: CSV export and --format\n- docs: output formats in the README")
