"""Store: adding, idempotence by content hash, versioned updates, the audit trail, migrations, mappings."""

import sqlite3
from decimal import Decimal

import pytest

from schemas import DocumentResult, Extracted, Receipt
from workbench.errors import ConflictError, StoreError
from workbench.store import PageImage, Store


def _result(content_hash: str = "a" * 64, total: str = "9.00", error: str | None = None) -> DocumentResult:
    document = None if error else Receipt(merchant_name=Extracted(value="ACME", confidence=0.9),
                                         total=Extracted(value=Decimal(total), confidence=0.8))
    return DocumentResult(file="r.jpg", doc_type=None if error else "receipt", engine="fake", pages=1,
                          document=document, error=error, content_hash=content_hash)


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    yield store
    store.close()


def test_add_get_keeps_original_and_pages(store):
    page = PageImage(1, 10, 20, b"\xff\xd8jpeg")
    document_id = store.add(_result(), [page], "ann", phash="8f3c0000ffff0000")
    stored = store.get(document_id)
    assert stored.status == "needs_review"
    assert stored.current.total.value == Decimal("9.00")
    assert stored.original == stored.current
    assert stored.phash == "8f3c0000ffff0000"
    assert store.page(document_id, 1) == page
    assert store.page(document_id, 2) is None
    assert [entry.action for entry in store.audit(document_id)] == ["import"]


def test_same_content_is_stored_once_and_keeps_corrections(store):
    first = store.add(_result(), [], "ann")
    stored = store.get(first)
    corrected = stored.current.model_copy(update={"total": Extracted(value=Decimal("10.00"), confidence=1.0,
                                                                     origin="user")})
    store.update(first, stored.version, "ann", current=corrected, changes=[("total", "9.00", "10.00")])
    assert store.add(_result(total="1.00"), [], "bob") == first
    again = store.get(first)
    assert again.current.total.value == Decimal("10.00")
    assert again.original.total.value == Decimal("9.00")
    assert len(store.list()) == 1


def test_failed_read_is_replaced_by_a_later_success(store):
    failed = store.add(_result(error="r.jpg: truncated"), [], "ann")
    assert store.get(failed).status == "failed"
    assert not store.has_hash("a" * 64)
    assert store.find_hash("a" * 64) == failed
    replaced = store.add(_result(), [], "ann")
    assert store.get(replaced).status == "needs_review"
    assert [d.id for d in store.list()] == [replaced]


def test_stale_version_is_refused(store):
    document_id = store.add(_result(), [], "ann")
    store.update(document_id, 1, "ann", status="approved", changes=[("status", "needs_review", "approved")])
    with pytest.raises(ConflictError, match="changed by someone else"):
        store.update(document_id, 1, "bob", status="rejected")
    assert store.get(document_id).status == "approved"


def test_result_without_hash_is_refused(store):
    with pytest.raises(StoreError, match="without a content hash"):
        store.add(_result().model_copy(update={"content_hash": None}), [], "ann")


def test_list_filters_by_status(store):
    one = store.add(_result("1" * 64), [], "ann")
    store.add(_result("2" * 64), [], "ann")
    store.update(one, 1, "ann", status="approved")
    assert [d.id for d in store.list(("approved",))] == [one]
    assert len(store.list()) == 2


def test_version_1_database_is_migrated_in_place(tmp_path):
    from workbench.store import _MIGRATIONS

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[1] + "; PRAGMA user_version = 1;")
    db.execute("INSERT INTO documents (content_hash, file_name, engine, status, created_at, updated_at)"
               " VALUES ('h', 'old.jpg', 'ocr', 'approved', 'now', 'now')")
    db.commit()
    db.close()
    store = Store(path)
    try:
        (old,) = store.list()
        assert old.file_name == "old.jpg" and old.phash is None
        store.set_mapping("merchant", "ACME", "ann", account_code="4650")
        assert [m.account_code for m in store.mappings()] == ["4650"]
    finally:
        store.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 4


def test_mappings_are_remembered_replaced_deleted_and_audited(tmp_path):
    path = tmp_path / "db.sqlite"
    store = Store(path)
    store.set_mapping("merchant", "ACME", "ann", account_code="4650", tax_code="9", contra_account="70000")
    store.set_mapping("category", "*", "ann", account_code="4900")
    store.set_mapping("merchant", "ACME", "bob", account_code="4660")
    store.close()
    store = Store(path)
    try:
        mappings = {(m.kind, m.key): m for m in store.mappings()}
        assert mappings[("merchant", "ACME")].account_code == "4660"
        assert mappings[("merchant", "ACME")].tax_code is None
        assert mappings[("category", "*")].account_code == "4900"
        store.delete_mapping("category", "*", "bob")
        assert [(m.kind, m.key) for m in store.mappings()] == [("merchant", "ACME")]
        trail = [(e.action, e.field, e.user) for e in store.audit()]
        assert trail == [("mapping", "merchant:ACME", "ann"), ("mapping", "category:*", "ann"),
                         ("mapping", "merchant:ACME", "bob"), ("mapping", "category:*", "bob")]
        with pytest.raises(StoreError, match="merchant"):
            store.set_mapping("vendor", "x", "ann", account_code="1")  # type: ignore[arg-type]
    finally:
        store.close()


def test_record_appends_to_the_trail(store):
    document_id = store.add(_result(), [], "ann")
    store.record("export", "ann", document_id=document_id, field="xlsx", new_value="out.xlsx")
    assert [(e.action, e.field, e.new_value) for e in store.audit(document_id)][-1] == ("export", "xlsx", "out.xlsx")


def test_policy_approval_is_audited_as_the_policys(store):
    document_id = store.add(_result(), [], "ann", status="approved", approved_by_policy="xml", crop_hash="ab" * 8)
    stored = store.get(document_id)
    assert stored.status == "approved" and stored.crop_hash == "ab" * 8 and stored.export_id is None
    assert [(e.action, e.field, e.old_value, e.new_value, e.user) for e in store.audit(document_id)] == [
        ("import", None, None, "r.jpg", "ann"),
        ("auto_approve", "status", "needs_review", "approved", "policy WORKBENCH_AUTO_APPROVE=xml")]


def test_export_marks_are_stored_and_audited(store):
    document_id = store.add(_result(), [], "ann")
    store.mark_exported([document_id], "EXP-1", "a.csv", "csv:datev", "ann")
    store.mark_exported([document_id], "EXP-2", "b.csv", "csv:datev", "bob")
    assert store.get(document_id).export_id == "EXP-2"
    assert [(e.old_value, e.new_value, e.user) for e in store.audit(document_id) if e.action == "export"] == [
        (None, "EXP-1 a.csv", "ann"), ("EXP-1", "EXP-2 b.csv", "bob")]
    with pytest.raises(StoreError, match="no document 99"):
        store.mark_exported([99], "EXP-3", "c.csv", "csv:datev", "ann")
    assert store.get(document_id).export_id == "EXP-2"
