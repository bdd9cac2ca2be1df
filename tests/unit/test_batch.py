"""Bulk import: counts, per-file errors, idempotence, worker processes, crash-and-resume, uploads."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from tests.cli.fake_engine import NAME, FakeEngine
from workbench import batch
from workbench.batch import import_bytes, import_folder
from workbench.config import Settings
from workbench.engines import register
from workbench.errors import ConfigError, WorkbenchError
from workbench.review import correct
from workbench.store import Store

ROOT = Path(__file__).resolve().parents[2]


def make_image(path: Path, width: int, seed: int = 0) -> Path:
    """A small PNG whose content differs by width and seed."""
    image = Image.new("RGB", (width, 60), (seed % 256, (seed * 7) % 256, 200))
    image.putpixel((0, 0), (width % 256, seed % 256, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def _open(settings: Settings) -> "closing[Store]":
    return closing(Store(settings.db))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    for index in range(5):
        make_image(root / f"r{index}.png", 100 + index)
    make_image(root / "sub" / "deep.png", 200)
    (root / "sub" / "copy.png").write_bytes((root / "r0.png").read_bytes())
    (root / "corrupt.jpg").write_bytes(b"<html>not a picture</html>")
    (root / "empty.png").write_bytes(b"")
    (root / "notes.txt").write_text("ignored: not a supported type")
    return root


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=tmp_path / "db.sqlite", workers=1, user="tester")


def test_import_counts_errors_and_stores_pages(folder, settings):
    events = []
    with _open(settings) as store:
        report = import_folder(folder, store, settings, NAME, progress=events.append)
        assert (report.imported, report.skipped_duplicates, report.failed) == (6, 1, 2)
        assert report.total == 9 and len(events) == 9 and events[-1].done == 9
        assert {name for name, _ in report.errors} == {"corrupt.jpg", "empty.png"}
        assert all(name in error for name, error in report.errors)
        documents = {d.file_name: d for d in store.list()}
        assert report.duplicates == [("sub/copy.png", f"document {documents['r0.png'].id}")]
        assert documents["r3.png"].current.total.value == Decimal("1.03")
        assert documents["r3.png"].phash is not None and documents["corrupt.jpg"].status == "failed"
        page = store.page(documents["sub/deep.png"].id, 1)
        assert page.image[:2] == b"\xff\xd8" and (page.width, page.height) == (200, 60)
        assert "imported" in report.summary() and "2 failed" in report.summary()


def test_second_run_skips_everything_read_and_retries_failures(folder, settings):
    with _open(settings) as store:
        import_folder(folder, store, settings, NAME)
        make_image(folder / "new.png", 321)
        again = import_folder(folder, store, settings, NAME)
        assert (again.imported, again.skipped_duplicates, again.failed) == (1, 7, 2)
        assert len(store.list()) == 9


def test_unexpected_error_fails_one_file_and_the_batch_goes_on(folder, settings):
    make_image(folder / "boom.png", 150)
    with _open(settings) as store:
        report = import_folder(folder, store, settings, NAME)
        assert report.imported == 6 and report.failed == 3
        assert "RuntimeError" in dict(report.errors)["boom.png"]


def test_worker_processes_and_a_crashed_worker(folder, settings, monkeypatch):
    monkeypatch.setattr(batch, "PROCESS_ENGINES", frozenset({NAME}))
    make_image(folder / "die.png", 151)
    parallel = settings.model_copy(update={"workers": 2})
    with _open(parallel) as store:
        report = import_folder(folder, store, parallel, NAME)
        assert (report.imported, report.skipped_duplicates, report.failed) == (6, 1, 3)
        assert "stopped unexpectedly" in dict(report.errors)["die.png"]
        documents = {d.file_name: d for d in store.list()}
        assert documents["r4.png"].current.total.value == Decimal("1.04")
        assert documents["sub/deep.png"].phash is not None


def test_an_engine_that_cannot_start_stops_the_import_with_its_reason(folder, settings, monkeypatch):
    def unavailable(_: Settings) -> FakeEngine:
        raise ConfigError("the fake model folder /nowhere is missing")

    register("unavailable", unavailable)
    monkeypatch.setattr(batch, "PROCESS_ENGINES", frozenset({"unavailable"}))
    for workers in (1, 2):
        with _open(settings.model_copy(update={"workers": workers})) as store, \
                pytest.raises(WorkbenchError, match="/nowhere is missing") as raised:
            import_folder(folder, store, settings.model_copy(update={"workers": workers}), "unavailable")
        assert raised.value.exit_code == ConfigError.exit_code


def _processes_running(marker: str) -> list[int]:
    """Ids of live processes whose command line mentions `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().split()[2]
            except OSError:
                continue
            if marker.encode() in cmdline and state != "Z":
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("workers", ["1", "2"])
def test_killed_import_resumes_without_losing_or_doubling(tmp_path, settings, workers):
    root = tmp_path / "many"
    for index in range(20):
        make_image(root / f"d{index:02}.png", 100 + index)
    env = {**os.environ, "WORKBENCH_DB": str(settings.db), "FAKE_ENGINE_DELAY": "0.25", "WORKBENCH_WORKERS": workers,
           "WORKBENCH_USER": "tester", "FAKE_ENGINE_IN_PROCESSES": "1"}
    command = [sys.executable, "-m", "tests.cli.fake_engine", "import", str(root), "--engine", NAME]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    stored = 0
    while stored < 4 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
        if settings.db.exists():
            try:
                stored = sqlite3.connect(settings.db).execute("SELECT count(*) FROM documents").fetchone()[0]
            except sqlite3.OperationalError:
                stored = 0
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert 4 <= stored < 20, "the import should have been killed part-way"
    if Path("/proc/self/cmdline").exists():
        deadline = time.monotonic() + 10
        while _processes_running(str(root)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_running(str(root)) == [], "reader processes outlived the killed import"
    with _open(settings) as store:
        first = store.list()[0]
        correct(store, first.id, first.version, "tester", {"total": "99.99"})
    env["FAKE_ENGINE_DELAY"] = "0"
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    with _open(settings) as store:
        documents = store.list()
        assert sorted(d.file_name for d in documents) == [f"d{index:02}.png" for index in range(20)]
        assert store.get(first.id).current.total.value == Decimal("99.99")
        assert store.get(first.id).original.total.value == first.original.total.value
        assert len({d.content_hash for d in documents}) == 20


def test_import_bytes_stores_once_and_answers_a_repeat_from_the_store(tmp_path, settings):
    data = make_image(tmp_path / "up.png", 123).read_bytes()
    engine = FakeEngine(settings)
    with _open(settings) as store:
        document_id, result = import_bytes(data, "up.png", store, engine, settings)
        assert result.document.total.value == Decimal("1.23") and engine.reads == 1
        again_id, again = import_bytes(data, "renamed.png", store, engine, settings)
        assert (again_id, engine.reads) == (document_id, 1)
        assert again.document == result.document
        failed_id, failed = import_bytes(b"\x89PNG broken", "bad.png", store, engine, settings)
        assert failed.error and "bad.png" in failed.error and store.get(failed_id).status == "failed"


def test_files_of_unsupported_types_are_listed_as_left_out(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "letter.docx").write_bytes(b"PK\x03\x04 not really a document")
    (folder / "notes.txt").write_text("hello")
    store = Store(tmp_path / "db.sqlite")
    report = import_folder(folder, store, Settings(db=tmp_path / "db.sqlite", workers=1), NAME)
    assert report.total == 0 and report.failed == 0
    assert [message.split(":")[0] for message in report.unsupported] == [
        str(folder / "letter.docx"), str(folder / "notes.txt")]
    assert "cannot be read" in report.unsupported[0] and "left out (unsupported type)" in report.summary()
