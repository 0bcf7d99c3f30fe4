"""What the demo's agents write: new files and (progress text, old text, new text) edits against demo_repo.py.

Each edit's old text occurs exactly once in the file it targets, at the time the demo play uses it.
"""

from __future__ import annotations

EXPORT_PATH = "invoicer/export.py"
TEST_EXPORT_PATH = "tests/test_export.py"

EXPORT_PY = '''"""CSV export: the same rows as the text report, one line per invoice."""

from __future__ import annotations

import csv
import io

from invoicer.models import Invoice
from invoicer.report import COLUMNS, invoice_rows


def render_csv(invoices: list[Invoice]) -> str:
    """A header row, then one row per invoice; the csv module quotes commas and quotes in names."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\\n")
    writer.writeheader()
    for row in invoice_rows(invoices):
        writer.writerow(row)
    return buffer.getvalue()
'''

CLI_EDITS: list[tuple[str, str, str]] = [
    (
        "The renderer will need the Invoice type for its signature.",
        "from invoicer.models import load_invoices\n",
        "from invoicer.models import Invoice, load_invoices\n",
    ),
    (
        "Adding a `render` dispatcher. The CSV module comes from t1, running in parallel, so I import it only when "
        "csv is asked for: the text path keeps working on its own.",
        "def build_parser() -> argparse.ArgumentParser:\n",
        '''FORMATS = ("text", "csv")


def render(invoices: list[Invoice], fmt: str) -> str:
    if fmt == "csv":
        # Imported on use: the text report must not depend on the CSV module.
        from invoicer.export import render_csv

        return render_csv(invoices)
    return render_text(invoices)


def build_parser() -> argparse.ArgumentParser:
''',
    ),
    (
        "Now the option itself, next to --output.",
        '    parser.add_argument("-o", "--output", type=Path, help="write the report here instead of stdout")\n',
        '    parser.add_argument("-o", "--output", type=Path, help="write the report here instead of stdout")\n'
        '    parser.add_argument("-f", "--format", choices=FORMATS, default="text", help="output format '
        '(default: text)")\n',
    ),
    (
        "And `main` renders through the dispatcher.",
        "    output = render_text(invoices)\n",
        "    output = render(invoices, args.format)\n",
    ),
]

FORMULA_EDITS: list[tuple[str, str, str]] = [
    (
        "Adding a helper that turns formula-like text into plain text. Amount columns are formatted decimals, so "
        "only the text columns need it (a negative total must stay a number).",
        "\n\ndef render_csv(",
        '''

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection); a leading quote keeps it text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\\t", "\\r")
TEXT_COLUMNS = ("number", "customer", "issued")


def neutralise_formula(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def render_csv(''',
    ),
    (
        "Applying it to every text cell as rows are written.",
        "        writer.writerow(row)\n",
        "        writer.writerow({col: neutralise_formula(v) if col in TEXT_COLUMNS else v\n"
        "                         for col, v in row.items()})\n",
    ),
]

TEST_EXPORT_PY = '''import csv
import io

import pytest

from invoicer.cli import main
from invoicer.export import render_csv
from invoicer.models import load_invoices

HEADER = "number,customer,issued,subtotal,tax,total"


def parse_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_a_header_and_one_row_per_invoice(invoices_file):
    text = render_csv(load_invoices(invoices_file))
    assert text.splitlines()[0] == HEADER
    assert [row["number"] for row in parse_csv(text)] == ["INV-001", "INV-002"]


def test_csv_amounts_match_the_text_report(invoices_file):
    first = parse_csv(render_csv(load_invoices(invoices_file)))[0]
    assert (first["subtotal"], first["tax"], first["total"]) == ("79.97", "15.99", "95.96")


def test_csv_quotes_names_that_contain_commas(invoices_file):
    text = render_csv(load_invoices(invoices_file))
    assert '"Globex, Inc."' in text
    assert parse_csv(text)[1]["customer"] == "Globex, Inc."


def test_csv_of_no_invoices_is_just_the_header():
    assert render_csv([]) == HEADER + "\\n"


def test_format_csv_prints_csv(invoices_file, capsys):
    assert main([str(invoices_file), "--format", "csv"]) == 0
    assert capsys.readouterr().out == render_csv(load_invoices(invoices_file))


def test_format_csv_with_output_writes_the_file(invoices_file, tmp_path):
    target = tmp_path / "invoices.csv"
    assert main([str(invoices_file), "-f", "csv", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith(HEADER)


def test_text_stays_the_default_format(invoices_file, capsys):
    assert main([str(invoices_file)]) == 0
    assert "grand total" in capsys.readouterr().out


def test_unknown_format_is_a_usage_error(invoices_file, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(invoices_file), "--format", "xml"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
'''

README_EDITS: list[tuple[str, str, str]] = [
    (
        "Usage example: a CSV line in the usage block.",
        "python -m invoicer invoices.json -o out.txt  # report in a file\n",
        "python -m invoicer invoices.json -o out.txt  # report in a file\n"
        "python -m invoicer invoices.json -f csv      # CSV on stdout\n",
    ),
    (
        "Output formats: a section before Development that says what the CSV holds.",
        "## Development\n",
        """## Output formats

`--format` (`-f`) picks the output: `text`, the default, is an aligned table with a grand total; `csv` has a
header row and one row per invoice with the columns `number`, `customer`, `issued`, `subtotal`, `tax` and `total`.
Amounts have two decimals; names containing commas or quotes are quoted. The CSV has no grand-total row, so it
loads cleanly into a spreadsheet or a database.

```sh
python -m invoicer invoices.json --format csv --output invoices.csv
```

## Development
""",
    ),
]

CHANGELOG_ANCHOR = "## [Unreleased]\n"


def changelog_entry(version: str, date: str) -> str:
    return (f"\n## [{version}] - {date}\n### Added\n"
            "- `--format` / `-f` option: `text` (default) or `csv`.\n"
            "- CSV export (`invoicer.export.render_csv`): one row per invoice, same columns as the text report.\n")
