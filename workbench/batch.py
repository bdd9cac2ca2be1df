"""Bulk import: read every file of a folder (in worker processes for OCR) and store each result once."""

import ctypes
import hashlib
import io
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from schemas import DocumentResult, Receipt, SourceDocument
from workbench.config import Settings
from workbench.duplicates import crop_hash, image_hash
from workbench.engines import Engine, create_engine, preload_engine
from workbench.errors import WorkbenchError
from workbench.extract.memory import MerchantFact, apply_memory
from workbench.ingest import SUPPORTED_SUFFIXES, content_hash, iter_files
from workbench.pipeline import DocTypeChoice, process_bytes, process_path
from workbench.review import auto_approval
from workbench.store import PageImage, Store

log = logging.getLogger(__name__)

JPEG_QUALITY = 85
_PR_SET_PDEATHSIG = 1
PROCESS_ENGINES = frozenset({"ocr"})
"""Engines that read faster in one process per core; the others (a VLM, a server) batch in one process."""

Outcome = Literal["imported", "duplicate", "failed"]


@dataclass(frozen=True)
class ProgressEvent:
    """One file done: what became of it, and how far the batch is."""

    file: str
    outcome: Outcome
    done: int
    total: int
    document_id: int | None = None
    error: str | None = None


@dataclass
class ImportReport:
    """What a folder import did: counts, the files that failed and why, the files skipped as copies."""

    total: int = 0
    imported: int = 0
    skipped_duplicates: int = 0
    failed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    """(file, what it is a copy of: "document 12" or an earlier file of this batch)."""
    unsupported: list[str] = field(default_factory=list)
    """Files left out because their type cannot be read (a .docx, a .txt), each with the reason."""
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for a person: how many were imported, skipped and failed, and how fast."""
        rate = self.total / self.seconds if self.seconds > 0 else 0.0
        left_out = f", {len(self.unsupported)} left out (unsupported type)" if self.unsupported else ""
        return (f"{self.imported} imported, {self.skipped_duplicates} skipped (already imported),"
                f" {self.failed} failed{left_out}, of {self.total} files in {self.seconds:.1f} s"
                f" ({rate:.2f} files/s)")


@dataclass(frozen=True)
class _Read:
    """A worker's answer for one file: the result and its pages encoded for the store."""

    result: DocumentResult
    pages: list[PageImage]
    phash: str | None
    crop_hash: str | None = None


def encode_pages(source: SourceDocument) -> list[PageImage]:
    """Each page image encoded once as JPEG for the store."""
    pages = []
    for page in source.pages:
        buffer = io.BytesIO()
        image = page.image if page.image.mode == "RGB" else page.image.convert("RGB")
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        pages.append(PageImage(page.number, image.width, image.height, buffer.getvalue()))
    return pages


def _packed(result: DocumentResult, source: SourceDocument | None) -> _Read:
    if source is None or not source.pages:
        return _Read(result, [], None)
    first = source.pages[0].image
    return _Read(result, encode_pages(source), image_hash(first), crop_hash(first))


def _unexpected(label: str, engine_name: str, error: Exception) -> DocumentResult:
    log.error("unexpected failure while reading %s", label, exc_info=error)
    return DocumentResult(file=label, engine=engine_name,
                          error=f"{label}: unexpected {type(error).__name__} while reading: {error}")


def _read_path(path: Path, label: str, engine: Engine, settings: Settings, doc_type: DocTypeChoice) -> _Read:
    # A bug in any stage fails this file only; the batch goes on and the error is stored with the file.
    try:
        result, source = process_path(path, engine, settings, doc_type, label=label)
        return _packed(result, source)
    except Exception as error:
        return _Read(_unexpected(label, engine.name, error), [], None)


_worker_engine: Engine | None = None
_worker_settings: Settings | None = None


def _die_with_parent() -> None:
    """Ask Linux to end this worker when the importing process dies (even by SIGKILL), so none lingers."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class EngineUnavailableError(WorkbenchError):
    """The engine could not be built in a reader process (a missing model, a bad setting): nothing can be read."""

    def __init__(self, user_message: str, exit_code: int) -> None:
        super().__init__(user_message)
        self.exit_code = exit_code

    def __reduce__(self) -> tuple[type, tuple[str, int]]:
        return type(self), (self.user_message, self.exit_code)


_worker_failure: EngineUnavailableError | None = None


def _init_worker(engine_name: str, settings: Settings) -> None:
    global _worker_engine, _worker_settings, _worker_failure
    _die_with_parent()
    _worker_settings = settings
    try:
        _worker_engine = create_engine(engine_name, settings)
    except WorkbenchError as error:
        _worker_failure = EngineUnavailableError(error.user_message, error.exit_code)


_Sent = tuple[str, list[PageImage], str | None, str | None]
"""A read as it crosses processes: the result as JSON (generic pydantic models do not pickle), pages, hashes."""


def _worker_read(path: Path, label: str, doc_type: DocTypeChoice) -> _Sent:
    if _worker_failure is not None:
        raise _worker_failure
    if _worker_engine is None or _worker_settings is None:
        raise RuntimeError("the worker process was not initialised with an engine")
    read = _read_path(path, label, _worker_engine, _worker_settings, doc_type)
    return read.result.model_dump_json(), read.pages, read.phash, read.crop_hash


def _received(sent: _Sent) -> _Read:
    result_json, pages, phash, cropped = sent
    return _Read(DocumentResult.model_validate_json(result_json), pages, phash, cropped)


def _file_hash(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _worker_count(settings: Settings) -> int:
    return settings.workers or os.cpu_count() or 1


class _Importer:
    """Stores what the readers return, one transaction per file, and keeps the report."""

    def __init__(self, store: Store, settings: Settings, total: int,
                 progress: Callable[[ProgressEvent], None] | None) -> None:
        self.store, self.settings, self.progress = store, settings, progress
        self.report = ImportReport(total=total)
        self.done = 0

    def _emit(self, event: ProgressEvent) -> None:
        if self.progress is not None:
            self.progress(event)

    def skip(self, label: str, copy_of: str) -> None:
        self.done += 1
        self.report.skipped_duplicates += 1
        self.report.duplicates.append((label, copy_of))
        self._emit(ProgressEvent(label, "duplicate", self.done, self.report.total, error=f"same content as {copy_of}"))

    def fail(self, label: str, error: str) -> None:
        self.done += 1
        self.report.failed += 1
        self.report.errors.append((label, error))
        self._emit(ProgressEvent(label, "failed", self.done, self.report.total, None, error))

    def store_read(self, read: _Read, digest: str) -> None:
        result = recall_names(read.result.model_copy(update={"content_hash": digest}), self.store)
        document_id = store_result(self.store, result, read, self.settings)
        self.done += 1
        if result.error is not None:
            self.report.failed += 1
            self.report.errors.append((result.file, result.error))
            self._emit(ProgressEvent(result.file, "failed", self.done, self.report.total, document_id,
                                     result.error))
        else:
            self.report.imported += 1
            self._emit(ProgressEvent(result.file, "imported", self.done, self.report.total, document_id))


def _pending(files: list[Path], folder: Path, importer: _Importer) -> Iterator[tuple[Path, str, str]]:
    """Files still to read (path, label, content hash); copies of stored or earlier files are skipped."""
    first_of: dict[str, str] = {}
    for path in files:
        label = str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path)
        try:
            digest = _file_hash(path)
        except OSError as error:
            importer.fail(label, f"{label}: cannot be read: {error.strerror or error}")
            continue
        if importer.store.has_hash(digest):
            importer.skip(label, f"document {importer.store.find_hash(digest)}")
        elif digest in first_of:
            importer.skip(label, first_of[digest])
        else:
            first_of[digest] = label
            yield path, label, digest


def import_folder(folder: Path, store: Store, settings: Settings, engine_name: str,
                  doc_type: DocTypeChoice = "auto",
                  progress: Callable[[ProgressEvent], None] | None = None) -> ImportReport:
    """Read and store every supported file under `folder` that is not stored yet; returns the report.

    Files whose content is already stored are skipped (an earlier failure is read again). Each result is
    stored in its own transaction, so a killed import resumes where it stopped when run again, and
    corrections made in between are kept. OCR reads in `settings.workers` processes (0: one per core),
    each building its engine once; at most two files per worker are in flight, so memory stays flat.
    """
    started = time.monotonic()
    folder = Path(folder)
    unsupported: list[Path] = []
    files = list(iter_files(folder, settings, unsupported))
    importer = _Importer(store, settings, len(files), progress)
    readable = ", ".join(SUPPORTED_SUFFIXES)
    importer.report.unsupported = [f"{path}: a {path.suffix or 'suffix-less'} file cannot be read;"
                                   f" the workbench reads {readable}" for path in unsupported]
    pending = _pending(files, folder, importer)
    workers = _worker_count(settings)
    if engine_name in PROCESS_ENGINES and workers > 1:
        _read_in_processes(pending, importer, engine_name, settings, doc_type, workers)
    else:
        engine = create_engine(engine_name, settings)
        in_flight = getattr(engine, "concurrency", 1)
        if in_flight > 1:
            _read_in_threads(pending, importer, engine, settings, doc_type, in_flight)
        else:
            for path, label, digest in pending:
                importer.store_read(_read_path(path, label, engine, settings, doc_type), digest)
    importer.report.seconds = time.monotonic() - started
    return importer.report


def _read_in_processes(pending: Iterator[tuple[Path, str, str]], importer: _Importer, engine_name: str,
                       settings: Settings, doc_type: DocTypeChoice, workers: int) -> None:
    """Read in a pool of processes, at most two files per worker in flight.

    When a reader process dies (out of memory, a crash in native code), the files it may have held are
    read again one at a time in a fresh pool, so only the file that kills a reader on its own fails.
    """
    # fork: workers inherit the engine registry (plugins, test fakes) and start without re-importing.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    if method == "fork":
        preload_engine(engine_name)
    context = multiprocessing.get_context(method)
    suspects: list[tuple[Path, str, str]] = []
    while True:
        in_flight: dict[Future[_Sent], tuple[Path, str, str]] = {}
        submitting: tuple[Path, str, str] | None = None
        try:
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                     initargs=(engine_name, settings)) as pool:
                while suspects:
                    task = suspects.pop(0)
                    in_flight[pool.submit(_worker_read, task[0], task[1], doc_type)] = task
                    _collect(in_flight, importer, engine_name)
                for submitting in pending:
                    in_flight[pool.submit(_worker_read, submitting[0], submitting[1], doc_type)] = submitting
                    submitting = None
                    while len(in_flight) >= 2 * workers:
                        _collect(in_flight, importer, engine_name)
                while in_flight:
                    _collect(in_flight, importer, engine_name)
            return
        except BrokenProcessPool:
            lost = [*in_flight.values(), *([submitting] if submitting is not None else [])]
            if len(lost) > 1:
                suspects.extend(lost)
                continue
            for _, label, digest in lost:
                error = f"{label}: the reader process stopped unexpectedly while reading this file"
                importer.store_read(_Read(DocumentResult(file=label, engine=engine_name, error=error), [], None),
                                    digest)


def _read_in_threads(pending: Iterator[tuple[Path, str, str]], importer: _Importer, engine: Engine,
                     settings: Settings, doc_type: DocTypeChoice, in_flight: int) -> None:
    """Read with `in_flight` threads, for a thread-safe engine that waits on a server (its `concurrency`).

    Each result is stored here, in the calling thread, as soon as it arrives, so a killed import resumes.
    """
    with ThreadPoolExecutor(in_flight) as pool:
        reading: dict[Future[_Read], str] = {}
        for path, label, digest in pending:
            reading[pool.submit(_read_path, path, label, engine, settings, doc_type)] = digest
            while len(reading) >= in_flight:
                done, _ = wait(reading, return_when=FIRST_COMPLETED)
                for future in done:
                    importer.store_read(future.result(), reading.pop(future))
        for future in as_completed(reading):
            importer.store_read(future.result(), reading[future])


def _collect(in_flight: dict[Future[_Sent], tuple[Path, str, str]], importer: _Importer, engine_name: str) -> None:
    """Store every finished read; a broken pool is raised with its files still counted as in flight."""
    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
    for future in done:
        error = future.exception()
        if isinstance(error, (BrokenProcessPool, EngineUnavailableError)):
            raise error
        _, label, digest = in_flight.pop(future)
        if error is None:
            importer.store_read(_received(future.result()), digest)
        else:
            importer.store_read(_Read(_unexpected(label, engine_name, error), [], None), digest)  # type: ignore[arg-type]


def import_bytes(data: bytes, name: str, store: Store, engine: Engine, settings: Settings,
                 doc_type: DocTypeChoice = "auto") -> tuple[int, DocumentResult]:
    """Read and store one uploaded file; returns its document id and result (a failed read is stored too).

    A file whose content is already stored is not read again: its stored reading comes back at once.
    """
    digest = content_hash(data)
    if store.has_hash(digest):
        document_id = store.find_hash(digest)
        if document_id is not None:
            stored = store.get(document_id)
            return document_id, DocumentResult(file=stored.file_name, doc_type=stored.doc_type,  # type: ignore[arg-type]
                                               engine=stored.engine, pages=stored.pages, document=stored.current,
                                               issues=stored.issues, content_hash=digest)
    try:
        result, source = process_bytes(data, name, engine, settings, doc_type)
        read = _packed(result, source)
    except Exception as error:
        read = _Read(_unexpected(name, engine.name, error), [], None)
    result = recall_names(read.result.model_copy(update={"content_hash": digest}), store)
    return store_result(store, result, read, settings), result


def store_result(store: Store, result: DocumentResult, read: _Read, settings: Settings) -> int:
    """Store one read document, approved at once when the `WORKBENCH_AUTO_APPROVE` policy says so."""
    approve = result.error is None and auto_approval(result.document, result.engine, result.issues,
                                                     settings.auto_approve, settings.review_threshold)
    return store.add(result, read.pages, settings.user, status="approved" if approve else None, phash=read.phash,
                     crop_hash=read.crop_hash, approved_by_policy=settings.auto_approve if approve else None)


def recall_names(result: DocumentResult, store: Store) -> DocumentResult:
    """The result with a receipt's merchant name taken from what earlier corrections taught, if any."""
    if not isinstance(result.document, Receipt):
        return result
    facts = {fact.key: MerchantFact(fact.key, fact.name, fact.confirmed, fact.contradicted)
             for fact in store.learned_names()}
    document = apply_memory(result.document, facts)
    return result if document is result.document else result.model_copy(update={"document": document})
