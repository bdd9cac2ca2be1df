"""The `workbench` command run as a subprocess: JSON Lines contract, exit codes, import, export, mapping."""

import csv
import io
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from PIL import Image

from tests.cli.fake_engine import register_fake
from workbench.cli import main

ROOT = Path(__file__).resolve().parents[2]
register_fake()
CONTRACT_KEYS = {"file", "doc_type", "engine", "pages", "document", "issues", "error"}


def make_image(path: Path, width: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, 40), (width % 256, 90, 200)).save(path)
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "WORKBENCH_DB": str(tmp_path / "db.sqlite"), "WORKBENCH_USER": "cli-tester",
            "WORKBENCH_WORKERS": "1", "ORT_DISABLE_TELEMETRY": "1"}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The workbench CLI with the fake engine registered (tests/cli/fake_engine.py)."""
    return subprocess.run([sys.executable, "-m", "tests.cli.fake_engine", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@dataclass(frozen=True)
class Done:
    """What an in-process run of the CLI gave: exit code, standard output, standard error and log lines."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(env, capsys, caplog, monkeypatch):
    """The CLI's `main` in this process (fast) with the test's settings; for commands that leave fd 1 alone."""

    def call(*args: str) -> Done:
        for key, value in env.items():
            if key.startswith("WORKBENCH_"):
                monkeypatch.setenv(key, value)
        caplog.clear()
        try:
            code = main(list(args))
        finally:
            logging.disable(logging.NOTSET)
        out, err = capsys.readouterr()
        return Done(code, out, err + caplog.text)

    return call


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    make_image(root / "a.png", 900)
    make_image(root / "b.png", 1234)
    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (root / "empty.png").write_bytes(b"")
    return root


def test_extract_prints_one_json_line_per_file_and_nothing_else(folder, env):
    paths = [str(folder / "a.png"), str(folder / "corrupt.jpg"), str(folder / "b.png"), str(folder / "empty.png")]
    done = run(env, "extract", *paths, "--engine", "fake")
    assert done.returncode == 2, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 4 and done.stdout.endswith("\n")
    results = [json.loads(line) for line in lines]
    assert [r["file"] for r in results] == paths
    assert all(set(r) == CONTRACT_KEYS for r in results)
    good = results[0]
    assert (good["doc_type"], good["engine"], good["pages"], good["error"]) == ("receipt", "fake", 1, None)
    assert good["document"]["total"] == {"value": "9.00", "confidence": 0.5, "source": None, "origin": "ocr"}
    assert good["document"]["merchant_name"]["source"] == {"page": 1, "bbox": [1.0, 2.0, 3.0, 4.0],
                                                          "text": paths[0]}
    assert good["document"]["date"]["value"] == "2024-01-15" and good["document"]["time"]["value"] is None
    assert good["document"]["line_items"] == []
    assert results[2]["document"]["total"]["value"] == "12.34"
    for failed in (results[1], results[3]):
        assert failed["document"] is None and Path(failed["file"]).name in failed["error"]
    assert "corrupt.jpg" in done.stderr


def test_extract_expands_folders_and_exits_zero_when_all_read(tmp_path, env):
    make_image(tmp_path / "ok" / "x.png", 100)
    make_image(tmp_path / "ok" / "y.png", 200)
    done = run(env, "extract", str(tmp_path / "ok"), "--engine", "fake", "--doc-type", "receipt")
    assert done.returncode == 0, done.stderr
    assert [Path(json.loads(line)["file"]).name for line in done.stdout.splitlines()] == ["x.png", "y.png"]


def test_unexpected_engine_error_is_that_files_error(tmp_path, env):
    make_image(tmp_path / "boom.png", 100)
    make_image(tmp_path / "fine.png", 100)
    done = run(env, "extract", str(tmp_path / "boom.png"), str(tmp_path / "fine.png"), "--engine", "fake")
    assert done.returncode != 0
    boom, fine = (json.loads(line) for line in done.stdout.splitlines())
    assert "RuntimeError" in boom["error"] and fine["error"] is None


def test_unknown_engine_is_a_config_error_on_stderr(folder, env):
    done = run(env, "extract", str(folder / "a.png"), "--engine", "nope")
    assert done.returncode == 3
    assert done.stdout == ""
    assert "unknown engine 'nope'" in done.stderr


def test_import_then_export_workbook_csv_and_json(folder, tmp_path, env, cli):
    done = run(env, "import", str(folder), "--engine", "fake")
    assert done.returncode == 2
    assert "2 imported, 0 skipped (already imported), 2 failed, of 4 files" in done.stdout
    assert "corrupt.jpg" in done.stderr and "file" in done.stderr
    again = run(env, "import", str(folder), "--engine", "fake")
    assert "0 imported, 2 skipped" in again.stdout

    nothing = cli("export", "--xlsx", str(tmp_path / "none.xlsx"))
    assert nothing.returncode == 0 and "no documents with status approved" in nothing.stderr
    assert openpyxl.load_workbook(tmp_path / "none.xlsx")["Documents"].max_row == 1

    database = sqlite3.connect(env["WORKBENCH_DB"])
    with database:
        database.execute("UPDATE documents SET status = 'approved' WHERE file_name = 'a.png'")
    database.close()
    assert cli("mapping", "--category", "*", "--account", "400", "--tax-code", "Tax Exempt").returncode == 0
    out = tmp_path / "out"
    done = run(env, "export", "--xlsx", str(out.with_suffix(".xlsx")), "--csv", "xero", str(out.with_suffix(".csv")),
               "--json", str(out.with_suffix(".json")))
    assert done.returncode == 0, done.stderr
    rows = list(openpyxl.load_workbook(out.with_suffix(".xlsx"))["Documents"].iter_rows(min_row=2, values_only=True))
    assert [row[1] for row in rows] == ["a.png"]
    xero = list(csv.DictReader(io.StringIO(out.with_suffix(".csv").read_text("utf-8-sig"))))
    assert [(r["*ContactName"], r["*UnitAmount"], r["*AccountCode"]) for r in xero] == [("a.png", "9.00", "400")]
    assert [r["file"] for r in json.loads(out.with_suffix(".json").read_text())] == ["a.png"]

    everything = cli("export", "--status", "all", "--xlsx", str(tmp_path / "all.xlsx"), "--audit",
                     str(tmp_path / "audit.csv"))
    assert everything.returncode == 0
    audit = list(csv.DictReader(io.StringIO((tmp_path / "audit.csv").read_text("utf-8-sig"))))
    assert {"import", "mapping", "export"} <= {row["action"] for row in audit}
    assert openpyxl.load_workbook(tmp_path / "all.xlsx")["Documents"].max_row == 5
    database = sqlite3.connect(env["WORKBENCH_DB"])
    exports = database.execute("SELECT field, user FROM audit WHERE action = 'export'").fetchall()
    assert ("xlsx", "cli-tester") in exports and ("csv:xero", "cli-tester") in exports
    assert ("json", "cli-tester") in exports


def test_export_errors_exit_with_their_code(folder, tmp_path, cli):
    cli("import", str(folder), "--engine", "fake")
    missing = cli("export")
    assert missing.returncode == 3 and "--xlsx" in missing.stderr
    no_account = cli("export", "--status", "all", "--csv", "datev", str(tmp_path / "d.csv"))
    assert no_account.returncode == 6 and "account code" in no_account.stderr
    assert not (tmp_path / "d.csv").exists()
    unwritable = cli("export", "--status", "all", "--xlsx", str(tmp_path / "no" / "such" / "dir.xlsx"))
    assert unwritable.returncode == 3 and "cannot write" in unwritable.stderr
    not_a_folder = cli("import", str(tmp_path / "missing"))
    assert not_a_folder.returncode == 2 and "is not a folder" in not_a_folder.stderr


def test_mapping_lists_sets_and_deletes(cli):
    set_ = cli("mapping", "--merchant", "ACME", "--account", "4650", "--contra", "70000")
    assert set_.returncode == 0 and "merchant\tACME\taccount=4650\ttax=\tcontra=70000" in set_.stdout
    deleted = cli("mapping", "--merchant", "ACME", "--delete")
    assert deleted.stdout == ""


RECEIPT_FIELDS = {"merchant_name", "merchant_address", "merchant_phone", "merchant_tax_id", "receipt_number", "date",
                  "time", "currency", "subtotal", "tax_total", "tax_lines", "tip", "discount", "rounding", "total",
                  "payment_method", "line_items"}
INVOICE_FIELDS = {"invoice_number", "issue_date", "due_date", "currency", "seller", "buyer", "purchase_order",
                  "net_total", "tax_total", "grand_total", "amount_due", "tax_lines", "iban", "line_items"}


def test_console_script_with_the_default_engine_keeps_stdout_pure(tmp_path, env):
    samples = ROOT / "samples"
    receipt = samples / "receipt_de_bakery.png"
    einvoice = samples / "zugferd_ZUGFeRD_1p0_BASIC_Einfach.pdf"
    if not receipt.exists() or not einvoice.exists():
        pytest.skip("samples/ not present")
    (tmp_path / "fake.jpg").write_text("<html>a web page, not a photo</html>")
    script = Path(sys.executable).with_name("workbench")
    env = {key: value for key, value in env.items() if key != "WORKBENCH_ENGINE"}
    done = subprocess.run([str(script), "extract", str(receipt), str(tmp_path / "fake.jpg"), str(einvoice)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["file"] for r in results] == [str(receipt), str(tmp_path / "fake.jpg"), str(einvoice)]
    first, fake, xml = results
    assert first["engine"] == "ocr" and first["error"] is None
    if first["doc_type"] == "receipt":
        assert RECEIPT_FIELDS <= set(first["document"])
    assert fake["document"] is None and "fake.jpg" in fake["error"]
    assert (xml["doc_type"], xml["engine"]) == ("invoice", "xml") and INVOICE_FIELDS <= set(xml["document"])
    assert isinstance(xml["document"]["grand_total"]["value"], str)
    assert "[INFO]" not in done.stderr


def test_eval_scores_a_labelled_folder(tmp_path, cli):
    for index, width in enumerate((900, 1234)):
        make_image(tmp_path / "set" / "images" / f"X{index}.jpg", width)
        labels = tmp_path / "set" / "labels"
        labels.mkdir(exist_ok=True)
        (labels / f"X{index}.json").write_text(json.dumps(
            {"fields": {"company": f"X{index}.jpg", "date": "15/01/2024", "address": "NOWHERE",
                        "total": f"{width / 100:.2f}"}}))
    done = cli("eval", str(tmp_path / "set"), "--out", str(tmp_path / "out"), "--engine", "fake")
    assert done.returncode == 0, done.stderr
    assert re.search(r"total\s+100\.00%", done.stdout) and re.search(r"address\s+0\.00%", done.stdout)
    assert (tmp_path / "out" / "misses.csv").exists()
    missing = cli("eval", str(tmp_path / "nowhere"), "--engine", "fake")
    assert missing.returncode == 2 and "nowhere" in missing.stderr


def test_auto_approved_e_invoices_are_booked_once_by_two_exports_in_a_row(tmp_path, env, cli):
    """WORKBENCH_AUTO_APPROVE=xml + import samples + two `export --csv xero` in a row: the e-invoices once."""
    env = {**env, "WORKBENCH_AUTO_APPROVE": "xml"}
    done = run(env, "import", str(ROOT / "samples"), "--engine", "fake")
    assert "imported" in done.stdout, done.stderr
    database = sqlite3.connect(env["WORKBENCH_DB"])
    approved = database.execute("SELECT file_name, engine FROM documents WHERE status = 'approved'").fetchall()
    auto = database.execute("SELECT user, new_value FROM audit WHERE action = 'auto_approve'").fetchall()
    database.close()
    assert approved == [("zugferd_MustangGnuaccountingBeispielRE-20201121_508.pdf", "xml")]
    assert auto == [("policy WORKBENCH_AUTO_APPROVE=xml", "approved")]
    assert cli("mapping", "--category", "*", "--account", "400").returncode == 0
    for rate, code in (("19", "20% (VAT on Expenses)"), ("7", "5% (VAT on Expenses)")):
        assert cli("mapping", "--rate", rate, "--layout", "xero", "--tax-code", code).returncode == 0
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    one = run(env, "export", "--csv", "xero", str(first))
    two = run(env, "export", "--csv", "xero", str(second))
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    booked = list(csv.DictReader(io.StringIO(first.read_text("utf-8-sig"))))
    assert [(r["*InvoiceNumber"], r["*TaxType"], r["*UnitAmount"]) for r in booked] == [
        ("RE-20201121/508", "5% (VAT on Expenses)", "171.20"),
        ("RE-20201121/508", "20% (VAT on Expenses)", "399.84")]
    assert list(csv.DictReader(io.StringIO(second.read_text("utf-8-sig")))) == []
    assert "wrote 1 documents" in one.stdout
    assert "wrote 0 documents" in two.stdout and "1 already exported left out (--include-exported" in two.stdout
    again = run(env, "export", "--csv", "xero", str(tmp_path / "again.csv"), "--include-exported")
    assert len(list(csv.DictReader(io.StringIO((tmp_path / "again.csv").read_text("utf-8-sig"))))) == 2, again.stderr


def test_export_period_and_a_bad_document_left_out_not_blocking(folder, tmp_path, env, cli):
    run(env, "import", str(folder), "--engine", "fake")
    database = sqlite3.connect(env["WORKBENCH_DB"])
    with database:
        database.execute("UPDATE documents SET status = 'approved' WHERE error IS NULL")
        # b.png's reading loses its total: it cannot be booked, a.png still can.
        row = database.execute("SELECT id, current_json FROM documents WHERE file_name = 'b.png'").fetchone()
        document = json.loads(row[1])
        document["total"]["value"] = None
        database.execute("UPDATE documents SET current_json = ? WHERE id = ?", (json.dumps(document), row[0]))
    database.close()
    cli("mapping", "--category", "*", "--account", "4900", "--contra", "1600")
    out = tmp_path / "datev.csv"
    done = cli("export", "--csv", "datev", str(out), "--from", "2024-01-01", "--to", "2024-01-31")
    assert done.returncode == 0, done.stderr
    assert "left out: b.png (document" in done.stderr and "no total" in done.stderr
    assert "wrote 1 documents" in done.stdout
    rows = out.read_text("cp1252").splitlines()[2:]
    assert len(rows) == 1 and '"a.png"' in rows[0]
    outside = cli("export", "--json", str(tmp_path / "feb.json"), "--from", "2024-02-01", "--to", "2024-02-29",
                  "--include-exported")
    assert json.loads((tmp_path / "feb.json").read_text()) == [] and "dated 2024-02-01 to 2024-02-29" in outside.stderr
    backwards = cli("export", "--json", str(tmp_path / "x.json"), "--from", "2024-02-01", "--to", "2024-01-01")
    assert backwards.returncode == 3 and "after --to" in backwards.stderr
    bad_day = run(env, "export", "--json", str(tmp_path / "x.json"), "--from", "13.09.2022")
    assert bad_day.returncode == 2 and "YYYY-MM-DD" in bad_day.stderr
    no_layout = cli("mapping", "--rate", "19", "--tax-code", "9")
    assert no_layout.returncode == 3 and "--layout" in no_layout.stderr
