"""The JSON export: every chosen document with its current and original reading, issues and duplicates."""

import json
from typing import IO, Any

from workbench.duplicates import Duplicate, find_duplicates
from workbench.store import StoredDocument


def document_record(stored: StoredDocument, duplicates: list[Duplicate]) -> dict[str, Any]:
    """One document as a JSON-ready dict (amounts as strings, dates ISO, as in `workbench extract`)."""
    return {
        "id": stored.id,
        "file": stored.file_name,
        "doc_type": stored.doc_type,
        "engine": stored.engine,
        "status": stored.status,
        "pages": stored.pages,
        "content_hash": stored.content_hash,
        "document": None if stored.current is None else stored.current.model_dump(mode="json"),
        "original": None if stored.original is None else stored.original.model_dump(mode="json"),
        "issues": [issue.model_dump(mode="json") for issue in stored.issues],
        "error": stored.error,
        "duplicates": [{"id": d.other_id, "kind": d.kind, "reason": d.reason} for d in duplicates],
        "created_at": stored.created_at,
        "updated_at": stored.updated_at,
    }


def write_json(documents: list[StoredDocument], buffer: IO[bytes],
               duplicates: dict[int, list[Duplicate]] | None = None) -> None:
    """Write the documents as one UTF-8 JSON array to a binary buffer."""
    if duplicates is None:
        duplicates = find_duplicates(documents)
    records = [document_record(stored, duplicates.get(stored.id, [])) for stored in documents]
    buffer.write(json.dumps(records, ensure_ascii=False, indent=1).encode("utf-8"))
