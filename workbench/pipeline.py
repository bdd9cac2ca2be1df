"""The recipe for one document: load, read (XML first, else the engine), validate — one call per stage."""

from pathlib import Path
from typing import Literal

from schemas import DocType, DocumentResult, Invoice, Issue, Receipt, SourceDocument
from workbench.config import Settings
from workbench.engines import Engine
from workbench.errors import InputError, WorkbenchError
from workbench.extract.einvoice import read_einvoice
from workbench.ingest import load_bytes, load_path
from workbench.validate import validate

DocTypeChoice = DocType | Literal["auto"]


def process(source: SourceDocument, engine: Engine, doc_type: DocTypeChoice = "auto") -> DocumentResult:
    """Read a loaded document: its embedded e-invoice XML exactly when present, else with `engine`.

    A PDF whose embedded XML cannot be read falls back to its pages, with an Issue saying so.
    """
    notes: list[Issue] = []
    document: Receipt | Invoice | None = None
    if source.xml is not None:
        try:
            document = read_einvoice(source.xml, source.name)
            engine_name = "xml"
        except InputError as error:
            if not source.pages:
                raise
            notes.append(Issue(code="einvoice_unreadable", field=None, severity="warning",
                               message=f"The embedded e-invoice XML could not be used ({error.reason}); "
                                       "the fields were read from the printed pages instead."))
    if document is None:
        document = engine.read(source, doc_type)
        engine_name = engine.name
    return DocumentResult(
        file=source.name,
        doc_type="invoice" if isinstance(document, Invoice) else "receipt",
        engine=engine_name,
        pages=len(source.pages),
        document=document,
        issues=notes + validate(document),
        content_hash=source.content_hash,
    )


def process_path(path: Path, engine: Engine, settings: Settings, doc_type: DocTypeChoice = "auto",
                 label: str | None = None) -> tuple[DocumentResult, SourceDocument | None]:
    """Load and read one file; a WorkbenchError becomes the result's `error`, so a batch can go on."""
    name = label if label is not None else str(path)
    try:
        source = load_path(path, settings, name=name)
        return process(source, engine, doc_type), source
    except WorkbenchError as error:
        return DocumentResult(file=name, engine=engine.name, error=error.user_message), None


def process_bytes(data: bytes, name: str, engine: Engine, settings: Settings,
                  doc_type: DocTypeChoice = "auto") -> tuple[DocumentResult, SourceDocument | None]:
    """Load and read an uploaded file's bytes; errors are returned in the result as for `process_path`."""
    try:
        source = load_bytes(data, name, settings)
        return process(source, engine, doc_type), source
    except WorkbenchError as error:
        return DocumentResult(file=name, engine=engine.name, error=error.user_message), None
