"""SQLite store (WAL): documents with their original and current reading, page images, and the audit trail."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from schemas import DocumentResult, Invoice, Issue, Receipt
from workbench.errors import ConflictError, StoreError

Status = Literal["needs_review", "approved", "rejected", "failed"]
STATUSES: tuple[Status, ...] = ("needs_review", "approved", "rejected", "failed")

_SCHEMA_VERSION = 4
_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        content_hash TEXT NOT NULL UNIQUE,
        file_name TEXT NOT NULL,
        doc_type TEXT,
        engine TEXT NOT NULL,
        status TEXT NOT NULL,
        pages INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        original_json TEXT,
        current_json TEXT,
        issues_json TEXT NOT NULL DEFAULT '[]',
        version INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE pages (
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        image BLOB NOT NULL,
        PRIMARY KEY (document_id, number)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        document_id INTEGER REFERENCES documents(id) ON DELETE CASCADE,
        action TEXT NOT NULL,
        field TEXT,
        old_value TEXT,
        new_value TEXT,
        user TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX audit_document ON audit(document_id);
    CREATE INDEX documents_status ON documents(status);
    """,
    2: """
    ALTER TABLE documents ADD COLUMN phash TEXT;
    CREATE TABLE mappings (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        account_code TEXT,
        tax_code TEXT,
        contra_account TEXT,
        user TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (kind, key)
    );
    """,
    3: """
    CREATE TABLE learned_names (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        confirmed INTEGER NOT NULL,
        contradicted INTEGER NOT NULL,
        user TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
    4: """
    ALTER TABLE documents ADD COLUMN export_id TEXT;
    ALTER TABLE documents ADD COLUMN exported_at TEXT;
    ALTER TABLE documents ADD COLUMN crop_hash TEXT;
    """,
}

MappingKind = Literal["merchant", "category", "rate"]
"""merchant: a supplier's accounts; category: a document type's (or `*`); rate: the tax code of one tax rate in
one bookkeeping layout, keyed `layout:rate` (for example `datev:19`)."""
MAPPING_KINDS: tuple[MappingKind, ...] = ("merchant", "category", "rate")


@dataclass(frozen=True)
class PageImage:
    """A stored page: its number, size in pixels and encoded image (JPEG or PNG bytes)."""

    number: int
    width: int
    height: int
    image: bytes


@dataclass(frozen=True)
class StoredDocument:
    """A document as stored: the original reading, the current one (with corrections) and its state."""

    id: int
    content_hash: str
    file_name: str
    doc_type: str | None
    engine: str
    status: Status
    pages: int
    error: str | None
    original: Receipt | Invoice | None
    current: Receipt | Invoice | None
    issues: list[Issue]
    version: int
    created_at: str
    updated_at: str
    phash: str | None = None
    export_id: str | None = None
    """The id of the bookkeeping export that last wrote this document (None: never booked)."""
    exported_at: str | None = None
    crop_hash: str | None = None
    """The cropping-tolerant hash of the first page (imagehash's crop-resistant hash), for duplicates."""


@dataclass(frozen=True)
class Mapping:
    """A remembered booking rule: the accounts to use for one merchant (normalised name) or category."""

    kind: MappingKind
    key: str
    account_code: str | None
    tax_code: str | None
    contra_account: str | None
    user: str
    updated_at: str


@dataclass(frozen=True)
class LearnedName:
    """A merchant name a person corrected, known under one key (phone, tax id or header text)."""

    key: str
    name: str
    confirmed: int
    contradicted: int
    user: str
    updated_at: str


@dataclass(frozen=True)
class AuditEntry:
    """One recorded change: a field correction, a status change, an import or an export."""

    id: int
    document_id: int | None
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    user: str
    at: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _document_from_json(text: str | None) -> Receipt | Invoice | None:
    """A stored reading; its own fields say its type (the original keeps its type when a person changes it)."""
    if text is None:
        return None
    data = json.loads(text)
    model = Receipt if "merchant_name" in data else Invoice
    return model.model_validate(data)


class Store:
    """The workbench database. One instance may be shared by threads; each call is one transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"cannot open the database {self.path}: {error}") from error

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._transaction() as db:
            current = db.execute("PRAGMA user_version").fetchone()[0]
            for version in range(current + 1, _SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {version}")

    def has_hash(self, content_hash: str) -> bool:
        """True when a file with this content was imported and read (failed reads do not count)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM documents WHERE content_hash = ? AND status != 'failed'", (content_hash,)
            ).fetchone()
        return row is not None

    def find_hash(self, content_hash: str) -> int | None:
        """The id of the document stored with this content hash (failed reads included), or None."""
        with self._lock:
            row = self._db.execute("SELECT id FROM documents WHERE content_hash = ?", (content_hash,)).fetchone()
        return None if row is None else int(row["id"])

    def add(self, result: DocumentResult, pages: list[PageImage], user: str, status: Status | None = None,
            phash: str | None = None, crop_hash: str | None = None, approved_by_policy: str | None = None) -> int:
        """Store one read document with its page images in one transaction; returns its id.

        A file already stored with the same content hash is kept as it is (its corrections survive) and
        its id is returned, unless the earlier attempt failed, in which case this reading replaces it.
        `phash` is the perceptual hash of the first page, used to find near-identical images, `crop_hash` its
        cropping-tolerant hash. `approved_by_policy` names the auto-approval policy that approved the document
        (status "approved"); the trail records the approval as that policy's, not a person's.
        """
        if result.content_hash is None:
            raise StoreError(f"{result.file}: a result without a content hash cannot be stored")
        if status is None:
            status = "failed" if result.error else "needs_review"
        document_json = result.document.model_dump_json() if result.document is not None else None
        issues_json = json.dumps([issue.model_dump() for issue in result.issues])
        now = _now()
        with self._transaction() as db:
            row = db.execute(
                "SELECT id, status FROM documents WHERE content_hash = ?", (result.content_hash,)
            ).fetchone()
            if row is not None and row["status"] != "failed":
                return int(row["id"])
            if row is not None:
                db.execute("DELETE FROM documents WHERE id = ?", (row["id"],))
            cursor = db.execute(
                "INSERT INTO documents (content_hash, file_name, doc_type, engine, status, pages, error,"
                " original_json, current_json, issues_json, version, created_at, updated_at, phash, crop_hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (result.content_hash, result.file, result.doc_type, result.engine, status, result.pages,
                 result.error, document_json, document_json, issues_json, now, now, phash, crop_hash),
            )
            document_id = int(cursor.lastrowid)
            db.executemany(
                "INSERT INTO pages (document_id, number, width, height, image) VALUES (?, ?, ?, ?, ?)",
                [(document_id, p.number, p.width, p.height, p.image) for p in pages],
            )
            db.execute(
                "INSERT INTO audit (document_id, action, field, old_value, new_value, user, at)"
                " VALUES (?, 'import', NULL, NULL, ?, ?, ?)",
                (document_id, result.file, user, now),
            )
            if approved_by_policy is not None:
                db.execute(
                    "INSERT INTO audit (document_id, action, field, old_value, new_value, user, at)"
                    " VALUES (?, 'auto_approve', 'status', 'needs_review', ?, ?, ?)",
                    (document_id, status, f"policy WORKBENCH_AUTO_APPROVE={approved_by_policy}", now),
                )
        return document_id

    def get(self, document_id: int) -> StoredDocument:
        """The stored document with this id; StoreError if there is none."""
        with self._lock:
            row = self._db.execute("SELECT * FROM documents WHERE id = ?", (document_id,)).fetchone()
        if row is None:
            raise StoreError(f"there is no document {document_id} in {self.path}")
        return self._stored(row)

    def list(self, statuses: tuple[Status, ...] | None = None) -> list[StoredDocument]:
        """All stored documents, oldest first, optionally only those with one of `statuses`."""
        query = "SELECT * FROM documents"
        params: tuple[Any, ...] = ()
        if statuses:
            query += f" WHERE status IN ({', '.join('?' for _ in statuses)})"
            params = tuple(statuses)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", params).fetchall()
        return [self._stored(row) for row in rows]

    def page(self, document_id: int, number: int) -> PageImage | None:
        """A stored page image, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT number, width, height, image FROM pages WHERE document_id = ? AND number = ?",
                (document_id, number),
            ).fetchone()
        return None if row is None else PageImage(row["number"], row["width"], row["height"], bytes(row["image"]))

    def update(self, document_id: int, expected_version: int, user: str, *,
               current: Receipt | Invoice | None = None, issues: list[Issue] | None = None,
               status: Status | None = None, doc_type: str | None = None,
               changes: list[tuple[str, str | None, str | None]] = ()) -> StoredDocument:
        """Save a new current reading, document type and/or status if nobody saved since `expected_version`.

        `changes` are (field, old value, new value) rows written to the audit trail in the same transaction:
        field `status` is a status change, `reason` the reason given for it, any other a correction.
        Raises ConflictError when the stored version moved on: the caller reloads and tries again.
        """
        now = _now()
        with self._transaction() as db:
            row = db.execute("SELECT version FROM documents WHERE id = ?", (document_id,)).fetchone()
            if row is None:
                raise StoreError(f"there is no document {document_id} in {self.path}")
            if row["version"] != expected_version:
                raise ConflictError(
                    f"document {document_id} was changed by someone else (version {row['version']}, you had"
                    f" {expected_version}); reload it and apply your change again"
                )
            sets = ["version = version + 1", "updated_at = ?"]
            params: list[Any] = [now]
            if current is not None:
                sets.append("current_json = ?")
                params.append(current.model_dump_json())
            if issues is not None:
                sets.append("issues_json = ?")
                params.append(json.dumps([issue.model_dump() for issue in issues]))
            if status is not None:
                sets.append("status = ?")
                params.append(status)
            if doc_type is not None:
                sets.append("doc_type = ?")
                params.append(doc_type)
            db.execute(f"UPDATE documents SET {', '.join(sets)} WHERE id = ?", (*params, document_id))
            db.executemany(
                "INSERT INTO audit (document_id, action, field, old_value, new_value, user, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(document_id, field if field in ("status", "reason") else "correct", field, old, new, user, now)
                 for field, old, new in changes],
            )
        return self.get(document_id)

    def mark_exported(self, document_ids: list[int], export_id: str, target: str, export_format: str,
                      user: str) -> None:
        """Mark documents as booked by one bookkeeping export, and audit each, in one transaction."""
        now = _now()
        with self._transaction() as db:
            for document_id in document_ids:
                old = db.execute("SELECT export_id FROM documents WHERE id = ?", (document_id,)).fetchone()
                if old is None:
                    raise StoreError(f"there is no document {document_id} in {self.path}")
                db.execute("UPDATE documents SET export_id = ?, exported_at = ? WHERE id = ?",
                           (export_id, now, document_id))
                db.execute(
                    "INSERT INTO audit (document_id, action, field, old_value, new_value, user, at)"
                    " VALUES (?, 'export', ?, ?, ?, ?, ?)",
                    (document_id, export_format, old["export_id"], f"{export_id} {target}", user, now),
                )

    def record(self, action: str, user: str, document_id: int | None = None, field: str | None = None,
               old_value: str | None = None, new_value: str | None = None) -> None:
        """Append one entry to the audit trail (for example an export)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO audit (document_id, action, field, old_value, new_value, user, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (document_id, action, field, old_value, new_value, user, _now()),
            )

    def audit(self, document_id: int | None = None) -> list[AuditEntry]:
        """The audit trail, oldest first, for one document or for all."""
        query = "SELECT * FROM audit"
        params: tuple[Any, ...] = ()
        if document_id is not None:
            query += " WHERE document_id = ?"
            params = (document_id,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", params).fetchall()
        return [AuditEntry(r["id"], r["document_id"], r["action"], r["field"], r["old_value"], r["new_value"],
                           r["user"], r["at"]) for r in rows]

    def set_mapping(self, kind: MappingKind, key: str, user: str, *, account_code: str | None,
                    tax_code: str | None = None, contra_account: str | None = None) -> Mapping:
        """Remember (or replace) the accounts for one merchant or category; recorded in the audit trail."""
        if kind not in MAPPING_KINDS:
            raise StoreError(f"a mapping is for a 'merchant', a 'category' or a tax 'rate', not {kind!r}")
        if not key.strip():
            raise StoreError(f"a {kind} mapping needs a {kind} name")
        now = _now()
        with self._transaction() as db:
            old = db.execute("SELECT account_code, tax_code, contra_account FROM mappings WHERE kind = ? AND key = ?",
                             (kind, key)).fetchone()
            db.execute(
                "INSERT OR REPLACE INTO mappings (kind, key, account_code, tax_code, contra_account, user, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, key, account_code, tax_code, contra_account, user, now),
            )
            db.execute(
                "INSERT INTO audit (document_id, action, field, old_value, new_value, user, at)"
                " VALUES (NULL, 'mapping', ?, ?, ?, ?, ?)",
                (f"{kind}:{key}", None if old is None else json.dumps(list(old)),
                 json.dumps([account_code, tax_code, contra_account]), user, now),
            )
        return Mapping(kind, key, account_code, tax_code, contra_account, user, now)

    def delete_mapping(self, kind: MappingKind, key: str, user: str) -> None:
        """Forget the accounts remembered for one merchant or category; recorded in the audit trail."""
        with self._transaction() as db:
            db.execute("DELETE FROM mappings WHERE kind = ? AND key = ?", (kind, key))
            db.execute(
                "INSERT INTO audit (document_id, action, field, old_value, new_value, user, at)"
                " VALUES (NULL, 'mapping', ?, NULL, NULL, ?, ?)",
                (f"{kind}:{key}", user, _now()),
            )

    def mappings(self) -> list[Mapping]:
        """Every remembered mapping, by kind and key."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM mappings ORDER BY kind, key").fetchall()
        return [Mapping(r["kind"], r["key"], r["account_code"], r["tax_code"], r["contra_account"], r["user"],
                        r["updated_at"]) for r in rows]

    def learn_name(self, keys: list[str], name: str, user: str) -> None:
        """Remember a corrected merchant name under each key: confirmed again, or replacing a different one."""
        now = _now()
        with self._transaction() as db:
            for key in keys:
                old = db.execute("SELECT name, confirmed, contradicted FROM learned_names WHERE key = ?",
                                 (key,)).fetchone()
                if old is None:
                    confirmed, contradicted = 1, 0
                elif old["name"] == name:
                    confirmed, contradicted = old["confirmed"] + 1, old["contradicted"]
                else:
                    confirmed, contradicted = 1, old["contradicted"] + 1
                db.execute("INSERT OR REPLACE INTO learned_names (key, name, confirmed, contradicted, user,"
                           " updated_at) VALUES (?, ?, ?, ?, ?, ?)", (key, name, confirmed, contradicted, user, now))
                db.execute("INSERT INTO audit (document_id, action, field, old_value, new_value, user, at)"
                           " VALUES (NULL, 'learn', ?, ?, ?, ?, ?)",
                           (key, None if old is None else old["name"], name, user, now))

    def forget_name(self, key: str, user: str) -> None:
        """Undo what a correction taught under one key; recorded in the audit trail."""
        with self._transaction() as db:
            old = db.execute("SELECT name FROM learned_names WHERE key = ?", (key,)).fetchone()
            db.execute("DELETE FROM learned_names WHERE key = ?", (key,))
            db.execute("INSERT INTO audit (document_id, action, field, old_value, new_value, user, at)"
                       " VALUES (NULL, 'forget', ?, ?, NULL, ?, ?)",
                       (key, None if old is None else old["name"], user, _now()))

    def learned_names(self) -> list[LearnedName]:
        """Every merchant name learned from corrections, by key."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM learned_names ORDER BY key").fetchall()
        return [LearnedName(r["key"], r["name"], r["confirmed"], r["contradicted"], r["user"], r["updated_at"])
                for r in rows]

    @staticmethod
    def _stored(row: sqlite3.Row) -> StoredDocument:
        return StoredDocument(
            id=row["id"],
            content_hash=row["content_hash"],
            file_name=row["file_name"],
            doc_type=row["doc_type"],
            engine=row["engine"],
            status=row["status"],
            pages=row["pages"],
            error=row["error"],
            original=_document_from_json(row["original_json"]),
            current=_document_from_json(row["current_json"]),
            issues=[Issue.model_validate(item) for item in json.loads(row["issues_json"])],
            version=row["version"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            phash=row["phash"],
            export_id=row["export_id"],
            exported_at=row["exported_at"],
            crop_hash=row["crop_hash"],
        )
