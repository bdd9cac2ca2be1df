"""Reliability and security rules across modules: concurrent sessions, the app's folders, no user text as HTML."""

import ast
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from schemas import DocumentResult, Extracted, Receipt
from workbench.config import Settings
from workbench.errors import ConflictError
from workbench.review import correct
from workbench.store import Store
from workbench.ui.importing import SAMPLES, sample_files

ROOT = Path(__file__).resolve().parents[2]
UI_SOURCES = sorted((ROOT / "workbench" / "ui").rglob("*.py")) + [ROOT / "streamlit_app.py"]


def _receipt() -> Receipt:
    return Receipt(merchant_name=Extracted(value="ACME", confidence=0.4, origin="ocr"),
                   date=Extracted(value=dt.date(2024, 1, 15), confidence=0.9, origin="ocr"),
                   total=Extracted(value=Decimal("9.00"), confidence=0.6, origin="ocr"))


def test_two_sessions_editing_one_document_the_second_is_told_and_nothing_is_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    first, second = Store(path), Store(path)
    try:
        document_id = first.add(DocumentResult(file="r.jpg", doc_type="receipt", engine="fake", document=_receipt(),
                                               content_hash="a" * 64), [], "importer")
        opened_by_ann, opened_by_bob = first.get(document_id), second.get(document_id)
        assert opened_by_ann.version == opened_by_bob.version
        correct(first, document_id, opened_by_ann.version, "ann", {"total": "10.00"})
        with pytest.raises(ConflictError, match="changed by someone else"):
            correct(second, document_id, opened_by_bob.version, "bob", {"merchant_name": "Bob's pick"})
        stored = second.get(document_id)
        assert stored.current.total.value == Decimal("10.00")
        assert stored.current.merchant_name.value == "ACME"
        assert [(e.user, e.field) for e in second.audit(document_id) if e.action == "correct"] == [("ann", "total")]
        reloaded = correct(second, document_id, stored.version, "bob", {"merchant_name": "Bob's pick"})
        assert (reloaded.current.total.value, reloaded.current.merchant_name.value) == (Decimal("10.00"), "Bob's pick")
    finally:
        first.close()
        second.close()


def test_the_app_offers_no_samples_from_outside_the_roots(tmp_path: Path) -> None:
    assert sample_files(Settings(roots=[tmp_path])) == []
    inside = sample_files(Settings(roots=[SAMPLES.parent]))
    assert inside and all(path.resolve().is_relative_to(SAMPLES.parent) for path in inside)


def test_upload_page_with_roots_elsewhere_runs_and_offers_no_samples(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "empty.sqlite"))
    monkeypatch.setenv("WORKBENCH_ROOTS", json.dumps([str(tmp_path / "inbox")]))
    at = AppTest.from_file(str(ROOT / "workbench" / "ui" / "pages" / "upload.py"), default_timeout=60).run()
    assert not at.exception
    assert not [button for button in at.button if "samples" in str(button.label)]


def test_the_app_takes_no_server_path_from_the_user() -> None:
    """Files reach the app only as uploads (bytes); no text box or query parameter becomes a path it opens."""
    found = []
    for source in UI_SOURCES:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "query_params":
                found.append(f"{source.name}:{node.lineno} reads query parameters")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"Path", "open"}:
                if not all(isinstance(arg, ast.Constant) or ast.unparse(arg) == "__file__" for arg in node.args):
                    found.append(f"{source.name}:{node.lineno} {node.func.id}() of a computed value")
    assert found == [], "\n".join(found)


def _is_constant_text(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _renders_computed_html(call: ast.Call) -> bool:
    """A call that passes raw HTML (st.html, components.html, unsafe_allow_html not False) built from non-constants."""
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    unsafe = any(k.arg == "unsafe_allow_html" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                 for k in call.keywords)
    contents = [*call.args, *(k.value for k in call.keywords if k.arg == "body")]
    return (name == "html" or unsafe) and not all(_is_constant_text(content) for content in contents)


def test_no_user_text_is_rendered_as_html() -> None:
    """Raw HTML is allowed only for constant strings: no unsafe_allow_html=True or st.html with computed content."""
    found = [f"{source.relative_to(ROOT)}:{node.lineno} renders computed content as HTML"
             for source in UI_SOURCES for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and _renders_computed_html(node)]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("line,flagged", [
    ("st.markdown(name, unsafe_allow_html=True)", True), ("st.html(f'<b>{name}</b>')", True),
    ("components.html(body)", True), ("st.write(text, unsafe_allow_html=flag)", True),
    ("st.html(body=name)", True), ("st.markdown('<br>', unsafe_allow_html=True)", False),
    ("st.markdown(name)", False), ("st.html('<hr>')", False),
])
def test_the_html_rule_flags_each_unsafe_form(line: str, flagged: bool) -> None:
    assert _renders_computed_html(ast.parse(line).body[0].value) is flagged
