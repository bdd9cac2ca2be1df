"""Reading files in the app: one document after another, with a progress bar and each outcome shown as it lands."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from workbench.batch import import_bytes
from workbench.config import Settings
from workbench.engines import Engine
from workbench.errors import WorkbenchError
from workbench.ingest import content_hash, iter_files
from workbench.store import Store
from workbench.ui import resources
from workbench.ui.grid import extracted_fields
from workbench.ui.safe import plain

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@dataclass(frozen=True)
class Outcome:
    """What became of one file: the stored document's id, or the reason it could not be read."""

    file: str
    document_id: int | None
    doc_type: str | None
    fields: int
    issues: int
    error: str | None
    already_imported: bool = False


def sample_files(settings: Settings) -> list[Path]:
    """The bundled sample documents (samples/documents/ when it exists, else samples/), sorted.

    None when the samples lie outside the configured roots: the app reads no folder outside them.
    """
    folder = SAMPLES / "documents" if (SAMPLES / "documents").is_dir() else SAMPLES
    roots = [root.resolve() for root in settings.roots]
    if not folder.is_dir() or (roots and not any(folder.resolve().is_relative_to(root) for root in roots)):
        return []
    return list(iter_files(folder, settings))


def read_files(files: Iterable[tuple[str, bytes]], total: int, store: Store, engine: Engine, settings: Settings,
               doc_type: str) -> Iterator[Outcome]:
    """Import each (name, bytes) in turn, showing progress and each file's outcome as soon as it is known.

    Yields each outcome as it lands (so a caller can remember it at once); a file that cannot be read shows
    its name and the reason, and the rest go on.
    """
    progress = st.progress(0.0, text=f"Reading 0 of {total}…")
    for index, (name, data) in enumerate(files, start=1):
        progress.progress((index - 1) / total, text=f"Reading {index} of {total}: {plain(name)}")
        digest = content_hash(data)
        known = store.find_hash(digest) if store.has_hash(digest) else None
        if known is not None:
            stored = store.get(known)
            outcome = Outcome(name, known, stored.doc_type, 0, len(stored.issues), None, already_imported=True)
        else:
            outcome = _read_one(name, data, store, engine, settings, doc_type)
        show_outcome(outcome)
        yield outcome
    progress.progress(1.0, text=f"Read {total} file{'s' if total != 1 else ''}.")


def _read_one(name: str, data: bytes, store: Store, engine: Engine, settings: Settings, doc_type: str) -> Outcome:
    try:
        document_id, result = import_bytes(data, name, store, engine, settings, doc_type)
    except WorkbenchError as error:
        return Outcome(name, None, None, 0, 0, error.user_message)
    found = 0 if result.document is None else sum(
        1 for _, field in extracted_fields(result.document) if field.value is not None)
    return Outcome(name, document_id, result.doc_type, found, len(result.issues), result.error)


def show_outcome(outcome: Outcome) -> None:
    """One file's outcome: what was found, that it was imported before, or its name and why it could not be read."""
    if outcome.already_imported:
        st.info(f"**{plain(outcome.file)}** was already imported (document #{outcome.document_id}); it was not read"
                " again.", icon=":material/inventory:")
    elif outcome.error is not None:
        st.error(f"**{plain(outcome.file)}** could not be read: {plain(outcome.error)}", icon=":material/error:")
    else:
        st.success(f"**{plain(outcome.file)}**: {outcome.doc_type}, {outcome.fields} fields found,"
                   f" {outcome.issues} issue{'s' if outcome.issues != 1 else ''} (document #{outcome.document_id})",
                   icon=":material/check_circle:")


def offer_samples(store: Store, settings: Settings) -> list[Outcome]:
    """On an empty database, offer to import the bundled samples; returns what was read (empty if nothing)."""
    files = sample_files(settings)
    if not files:
        return []
    st.info(f"The database is empty. Start with the {len(files)} bundled sample documents, or import your own.",
            icon=":material/inventory_2:")
    if not st.button(f"Import the {len(files)} bundled samples", type="primary", icon=":material/download:"):
        return []
    engine = resources.engine(settings.engine)
    return list(read_files(((path.name, path.read_bytes()) for path in files), len(files), store, engine, settings,
                           "auto"))
