"""The sample project `cockpit demo` runs on: a small invoicing tool with a passing test suite.

It is stdlib-only and its tests need nothing but pytest, so the demo works on any machine with git and Python. The
offline model's demo play (cockpit/offline/demo_play.py) is written against exactly these files: change them
together.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

DEMO_GOAL = "Add CSV export and a --format option to the CLI, with tests, a security review, docs and a release note."

DEMO_VERSION = "0.2.0"

_INIT = f'''"""invoicer: turn a JSON file of invoices into totals and reports."""

__version__ = "{DEMO_VERSION}"
'''

_MAIN = "from invoicer.cli import main\n\nraise SystemExit(main())\n"

_MODELS = '''"""Invoices and their line items, loaded from plain JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path


@dataclass(frozen=True)
class LineItem:
    description: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Invoice:
    number: str
    customer: str
    issued: str  # ISO date kept as text: we never do date arithmetic
    items: list[LineItem] = field(default_factory=list)
    tax_rate: Decimal = Decimal("0")


def invoice_from_dict(raw: dict) -> Invoice:
    try:
        items = [
            LineItem(item["description"], int(item["quantity"]), Decimal(str(item["unit_price"])))
            for item in raw.get("items", [])
        ]
        tax_rate = Decimal(str(raw.get("tax_rate", "0")))
        return Invoice(raw["number"], raw["customer"], raw["issued"], items, tax_rate)
    except KeyError as exc:
        raise ValueError(f"invoice is missing the field {exc.args[0]!r}") from None
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"invoice {raw.get('number', '?')} has a bad number: {exc}") from None


def load_invoices(path: Path) -> list[Invoice]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("invoices"), list):
        raise ValueError(f"{path}: expected an object with an 'invoices' list")
    return [invoice_from_dict(raw) for raw in data["invoices"]]
'''

_TOTALS = '''"""Money arithmetic. Decimal throughout: binary floats lose cents."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from invoicer.models import Invoice

CENT = Decimal("0.01")


def subtotal(invoice: Invoice) -> Decimal:
    return sum((item.amount for item in invoice.items), Decimal("0"))


def tax(invoice: Invoice) -> Decimal:
    # Tax is rounded once per invoice, half up, as the accountants asked.
    return (subtotal(invoice) * invoice.tax_rate).quantize(CENT, rounding=ROUND_HALF_UP)


def total(invoice: Invoice) -> Decimal:
    return subtotal(invoice) + tax(invoice)


def grand_total(invoices: list[Invoice]) -> Decimal:
    return sum((total(invoice) for invoice in invoices), Decimal("0"))
'''

_REPORT = '''"""The plain-text report, and the flat rows every output format is built from."""

from __future__ import annotations

from invoicer.models import Invoice
from invoicer.totals import grand_total, subtotal, tax, total

COLUMNS = ("number", "customer", "issued", "subtotal", "tax", "total")


def invoice_rows(invoices: list[Invoice]) -> list[dict[str, str]]:
    """One row per invoice, amounts formatted with two decimals."""
    return [
        {
            "number": invoice.number,
            "customer": invoice.customer,
            "issued": invoice.issued,
            "subtotal": f"{subtotal(invoice):.2f}",
            "tax": f"{tax(invoice):.2f}",
            "total": f"{total(invoice):.2f}",
        }
        for invoice in invoices
    ]


def render_text(invoices: list[Invoice]) -> str:
    rows = invoice_rows(invoices)
    widths = {col: max([len(col)] + [len(row[col]) for row in rows]) for col in COLUMNS}
    lines = ["  ".join(col.ljust(widths[col]) for col in COLUMNS).rstrip()]
    lines += ["  ".join(row[col].ljust(widths[col]) for col in COLUMNS).rstrip() for row in rows]
    lines.append(f"{len(rows)} invoice(s), grand total {grand_total(invoices):.2f}")
    return "\\n".join(lines) + "\\n"
'''

_CLI = '''"""Command line: `python -m invoicer invoices.json`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from invoicer.models import load_invoices
from invoicer.report import render_text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="invoicer", description="Summarise a JSON file of invoices.")
    parser.add_argument("file", type=Path, help="JSON file with an 'invoices' list")
    parser.add_argument("-o", "--output", type=Path, help="write the report here instead of stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        invoices = load_invoices(args.file)
    except (OSError, ValueError) as exc:
        print(f"invoicer: {exc}", file=sys.stderr)
        return 2
    output = render_text(invoices)
    if args.output:
        args.output.write_text(output, encoding="utf-8")
    else:
        sys.stdout.write(output)
    return 0
'''

_CONFTEST = '''import json

import pytest

SAMPLE = {
    "invoices": [
        {
            "number": "INV-001",
            "customer": "Acme Corp",
            "issued": "2024-03-01",
            "tax_rate": "0.20",
            "items": [
                {"description": "Widgets", "quantity": 3, "unit_price": "9.99"},
                {"description": "Setup", "quantity": 1, "unit_price": "50.00"},
            ],
        },
        {
            "number": "INV-002",
            "customer": "Globex, Inc.",
            "issued": "2024-03-04",
            "items": [{"description": "Consulting", "quantity": 2, "unit_price": "120.00"}],
        },
    ]
}


@pytest.fixture
def invoices_file(tmp_path):
    path = tmp_path / "invoices.json"
    path.write_text(json.dumps(SAMPLE), encoding="utf-8")
    return path
'''

_TEST_MODELS = '''from decimal import Decimal

import pytest

from invoicer.models import invoice_from_dict, load_invoices


def test_load_invoices_reads_every_invoice(invoices_file):
    invoices = load_invoices(invoices_file)
    assert [inv.number for inv in invoices] == ["INV-001", "INV-002"]
    assert invoices[0].items[0].unit_price == Decimal("9.99")


def test_line_item_amount_is_price_times_quantity(invoices_file):
    widgets = load_invoices(invoices_file)[0].items[0]
    assert widgets.amount == Decimal("29.97")


def test_missing_field_is_a_clear_error():
    with pytest.raises(ValueError, match="customer"):
        invoice_from_dict({"number": "X", "issued": "2024-01-01"})


def test_file_without_invoices_list_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="invoices"):
        load_invoices(path)
'''

_TEST_TOTALS = '''from decimal import Decimal

from invoicer.models import load_invoices
from invoicer.totals import grand_total, subtotal, tax, total


def test_subtotal_tax_and_total(invoices_file):
    first = load_invoices(invoices_file)[0]
    assert subtotal(first) == Decimal("79.97")
    assert tax(first) == Decimal("15.99")
    assert total(first) == Decimal("95.96")


def test_invoice_without_tax_rate_pays_no_tax(invoices_file):
    second = load_invoices(invoices_file)[1]
    assert tax(second) == Decimal("0.00")


def test_grand_total_sums_invoices(invoices_file):
    assert grand_total(load_invoices(invoices_file)) == Decimal("335.96")
'''

_TEST_CLI = '''import tomllib
from pathlib import Path

import invoicer
from invoicer.cli import main


def test_text_report_lists_invoices_and_grand_total(invoices_file, capsys):
    assert main([str(invoices_file)]) == 0
    out = capsys.readouterr().out
    assert "INV-001" in out and "Globex, Inc." in out
    assert out.strip().endswith("2 invoice(s), grand total 335.96")


def test_output_option_writes_a_file(invoices_file, tmp_path, capsys):
    target = tmp_path / "report.txt"
    assert main([str(invoices_file), "--output", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert "INV-002" in target.read_text(encoding="utf-8")


def test_missing_file_exits_2_with_a_message(tmp_path, capsys):
    assert main([str(tmp_path / "nope.json")]) == 2
    assert capsys.readouterr().err.startswith("invoicer:")


def test_package_version_matches_pyproject():
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert invoicer.__version__ == pyproject["project"]["version"]
'''

_PYPROJECT = f'''[project]
name = "invoicer"
version = "{DEMO_VERSION}"
description = "Turn a JSON file of invoices into totals and reports."
requires-python = ">=3.11"

[project.scripts]
invoicer = "invoicer.cli:main"

[tool.pytest.ini_options]
# Tests import the package from the source tree: no install needed.
pythonpath = ["."]
testpaths = ["tests"]
'''

_README = '''# invoicer

Turn a JSON file of invoices into totals and a plain-text report.

## Usage

```sh
python -m invoicer invoices.json             # report on stdout
python -m invoicer invoices.json -o out.txt  # report in a file
```

The input is an object with an `invoices` list; each invoice has a `number`, `customer`, `issued` date, optional
`tax_rate` and `items` (`description`, `quantity`, `unit_price`). Amounts are decimals, rounded half up to cents.

## Development

```sh
python -m pytest
```
'''

_CHANGELOG = f'''# Changelog

All notable changes to this project, in Keep a Changelog format; versions follow semantic versioning.

## [Unreleased]

## [{DEMO_VERSION}] - 2024-03-10
### Added
- `--output` writes the report to a file.
- Tax rates per invoice.

## [0.1.0] - 2024-02-20
### Added
- Plain-text report with subtotals, tax and a grand total.
'''

_AGENTS = '''# Instructions for agents

- Python 3.11, standard library only. Money is `Decimal`, never float.
- Run the tests with `python -m pytest` from the repo root; keep them passing.
- Every output format is built from `report.invoice_rows`: do not recompute amounts elsewhere.
- User-facing changes get a line in `CHANGELOG.md` under a new version; the version lives in `pyproject.toml` and
  `invoicer/__init__.py` and they must match (a test checks it).
'''

_GITIGNORE = "__pycache__/\n*.pyc\n.pytest_cache/\n"

DEMO_FILES: dict[str, str] = {
    "invoicer/__init__.py": _INIT,
    "invoicer/__main__.py": _MAIN,
    "invoicer/models.py": _MODELS,
    "invoicer/totals.py": _TOTALS,
    "invoicer/report.py": _REPORT,
    "invoicer/cli.py": _CLI,
    "tests/conftest.py": _CONFTEST,
    "tests/test_models.py": _TEST_MODELS,
    "tests/test_totals.py": _TEST_TOTALS,
    "tests/test_cli.py": _TEST_CLI,
    "pyproject.toml": _PYPROJECT,
    "README.md": _README,
    "CHANGELOG.md": _CHANGELOG,
    "AGENTS.md": _AGENTS,
    ".gitignore": _GITIGNORE,
}


class DemoRepoError(Exception):
    """The demo repository could not be created (a user-visible, one-line reason)."""


def make_demo_repo(path: Path) -> Path:
    """Write the sample project into `path` (new or empty) and commit it as a fresh git repo; return the path."""
    path = Path(path).expanduser().resolve()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise DemoRepoError(f"cannot create the demo repo in {path}: it exists and is not an empty folder")
    path.mkdir(parents=True, exist_ok=True)
    for relative, content in DEMO_FILES.items():
        target = path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    _git(path, "init", "-q", "-b", "main")
    # A local identity, so the commit works on machines where git has none configured.
    _git(path, "config", "user.name", "Cockpit Demo")
    _git(path, "config", "user.email", "demo@cockpit.invalid")
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "--no-gpg-sign", "-m", "Initial commit: invoicer 0.2.0")
    return path


def _git(repo: Path, *args: str) -> None:
    try:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise DemoRepoError("cannot create the demo repo: git is not installed") from None
    except subprocess.CalledProcessError as exc:
        message = (exc.stderr or exc.stdout or "").strip().splitlines()
        reason = message[-1] if message else f"exit code {exc.returncode}"
        raise DemoRepoError(f"git {args[0]} failed in {repo}: {reason}") from None
