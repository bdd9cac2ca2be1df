"""AppTest of the import, export, dashboard, mappings and audit pages, each on a seeded temporary database."""

import io

import pytest
from PIL import Image

from schemas import Receipt, SourceDocument
from workbench.engines import register
from workbench.errors import ConfigError
from workbench.store import Store

from tests.app.conftest import add, invoice, receipt


class FakeEngine:
    """Reads every page as the same receipt, at once."""

    name = "fake-app"

    def read(self, source: SourceDocument, doc_type: str) -> Receipt:
        return receipt()


@pytest.fixture(autouse=True)
def fake_engine() -> None:
    register("fake-app", lambda settings: FakeEngine())


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(buffer, "PNG")
    return buffer.getvalue()


def _download(at, key: str):
    return next(button for button in at.get("download_button") if button.key == key)


def _texts(at, kind: str) -> str:
    return "\n".join(element.value for element in at.get(kind))


def test_upload_reads_each_file_and_names_the_ones_that_fail(store: Store, app) -> None:
    at = app("upload").run()
    at.sidebar.selectbox[0].set_value("fake-app")
    at.file_uploader[0].set_value([("shop.png", _png(), "image/png"), ("empty.jpg", b"", "image/jpeg"),
                                   ("page.jpg", b"<html>not an image</html>", "image/jpeg")])
    at.run()
    assert not at.exception
    assert "shop\\.png" in _texts(at, "success")
    errors = _texts(at, "error")
    assert "empty\\.jpg" in errors and "page\\.jpg" in errors
    assert at.get("progress")
    stored = {document.file_name: document for document in store.list()}
    assert stored["shop.png"].status == "needs_review"
    assert stored["shop.png"].current.merchant_name.value == "ACME SDN BHD"


def test_re_uploading_a_file_says_already_imported(store: Store, app) -> None:
    at = app("upload").run()
    at.sidebar.selectbox[0].set_value("fake-app")
    at.file_uploader[0].set_value([("shop.png", _png(), "image/png")])
    at.run()
    again = app("upload").run()
    again.sidebar.selectbox[0].set_value("fake-app")
    again.file_uploader[0].set_value([("shop-again.png", _png(), "image/png")])
    again.run()
    assert "shop\\-again\\.png** was already imported (document #1)" in _texts(again, "info")
    assert not _texts(again, "success")
    assert len(store.list()) == 1
    assert "0 of 1 read; 1 already imported" in "\n".join(caption.value for caption in again.caption)


def test_a_second_scan_of_the_same_page_is_flagged_at_upload(store: Store, app) -> None:
    other = io.BytesIO()
    Image.new("RGB", (320, 400), "white").save(other, "PNG")
    at = app("upload").run()
    at.sidebar.selectbox[0].set_value("fake-app")
    at.file_uploader[0].set_value([("scan.png", _png(), "image/png"), ("scan-2.png", other.getvalue(), "image/png")])
    at.run()
    warnings = _texts(at, "warning")
    assert "scan\\-2\\.png** (document #2) looks like document #1" in warnings


def test_upload_warns_before_a_local_vlm_runs_on_a_cpu(store: Store, app, monkeypatch) -> None:
    monkeypatch.setattr("workbench.ui.resources.has_accelerator", lambda: False)
    at = app("upload").run()
    at.sidebar.selectbox[0].set_value("qwen3-vl").run()
    assert "No GPU was found" in _texts(at, "warning")


def test_export_offers_the_approved_documents_and_records_the_export(store: Store, app) -> None:
    approved = add(store, "a.jpg", receipt(), status="approved")
    add(store, "b.jpg", receipt(merchant="OTHER"))
    at = app("export").run()
    assert not at.exception
    assert list(at.dataframe[0].value["File"]) == ["a.jpg"]
    button = _download(at, "download-xlsx")
    assert button.label == "Download Excel workbook" and not button.proto.disabled
    button.click().run()
    exports = [entry for entry in store.audit(approved) if entry.action == "export"]
    assert exports and exports[0].field == "xlsx" and exports[0].user == "tester"


def test_csv_export_without_account_codes_says_what_is_missing(store: Store, app) -> None:
    add(store, "a.jpg", receipt(), status="approved")
    at = app("export").run()
    shown = _texts(at, "warning").replace("\\", "")
    assert "Left out: a.jpg (document 1, supplier 'ACME SDN BHD'): no account code or tax code" in shown
    assert _download(at, "download-csv").proto.disabled
    # Outside st.navigation (AppTest runs one page) the switch to the Review page reports the page it looked for.
    at.button(key="open-1").click().run()
    assert at.session_state["selected_document"] == 1
    assert "review.py" in at.exception[0].message


def test_csv_export_uses_the_mapped_accounts(store: Store, app) -> None:
    add(store, "a.jpg", receipt(), status="approved")
    store.set_mapping("category", "*", "tester", account_code="6300", tax_code="INPUT", contra_account="1600")
    at = app("export").run()
    assert not _texts(at, "error")
    assert not _download(at, "download-csv").proto.disabled


def test_dashboard_counts_statuses_and_totals_by_month_and_currency(store: Store, app) -> None:
    add(store, "a.jpg", receipt(total="9.00"), status="approved")
    add(store, "b.jpg", receipt(merchant="OTHER", total="1.50"))
    add(store, "c.xml", invoice())
    add(store, "d.jpg", None, error="d.jpg: not an image")
    add(store, "e.jpg", receipt(merchant="PRIVATE", total="500.00"), status="rejected")
    at = app("dashboard").run()
    assert not at.exception
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics == {"Needs review": "2", "Approved": "1", "Rejected": "1", "Could not be read": "1"}
    totals = at.dataframe[0].value
    assert totals.to_dict("records") == [
        {"Month": "2018-12", "Currency": "MYR", "Total": 10.5, "Documents": 2},
        {"Month": "2024-03", "Currency": "EUR", "Total": 119.0, "Documents": 1},
    ]
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")


def test_export_page_period_picker_left_out_documents_and_exported_marks(store: Store, app) -> None:
    add(store, "dec.jpg", receipt(date="2018-12-25"), status="approved")
    add(store, "nov.jpg", receipt(merchant="NOV SHOP", date="2018-11-02", total="4.00"), status="approved")
    add(store, "nodate.jpg", receipt(merchant="UNDATED", total="2.00").model_copy(
        update={"merchant_name": receipt().merchant_name.model_copy(update={"value": None})}), status="approved")
    store.set_mapping("category", "*", "tester", account_code="6300", tax_code="INPUT", contra_account="1600")
    at = app("export").run()
    assert "Left out: nodate\\.jpg \\(document 3\\)\\: no supplier" in _texts(at, "warning")
    assert at.button(key="open-3").label == "Open #3"
    assert _download(at, "download-csv").label.endswith("CSV (2)")
    at.segmented_control(key="period-kind").set_value("month").run()
    at.selectbox(key="period-year").set_value(2018).run()
    at.selectbox(key="period-month").set_value(11).run()
    assert list(at.dataframe[0].value["File"]) == ["nov.jpg"]
    _download(at, "download-csv").click().run()
    assert [d.export_id is not None for d in store.list()] == [False, True, False]
    assert "marked exported" in _texts(at, "success")
    at.segmented_control(key="period-kind").set_value("all").run()
    assert "1 document already exported left out." in "\n".join(caption.value for caption in at.caption)
    assert _download(at, "download-csv").label.endswith("CSV (1)")
    at.checkbox(key="include-exported").check().run()
    assert _download(at, "download-csv").label.endswith("CSV (2)")


def test_tax_codes_per_rate_are_saved_on_the_mappings_page(store: Store, app) -> None:
    at = app("mappings").run()
    at.session_state["rates-editor"] = {"edited_rows": {}, "deleted_rows": [], "added_rows": [
        {"Layout": "datev", "Rate %": "19", "Tax code": "9"}, {"Layout": "xero", "Rate %": "5,5", "Tax code": "R5"}]}
    at.button(key="save-rates").click().run()
    assert sorted((m.kind, m.key, m.tax_code) for m in store.mappings()) == [
        ("rate", "datev:19", "9"), ("rate", "xero:5.5", "R5")]
    assert list(at.dataframe[1].value["Rate %"]) == ["19", "5.5"]


def test_mappings_are_saved_and_remembered(store: Store, app) -> None:
    add(store, "a.jpg", receipt())
    at = app("mappings").run()
    frame = at.dataframe[0].value
    keys = list(frame["Merchant or category"])
    assert keys == ["receipt", "invoice", "*", "ACME SDN BHD"]
    at.session_state["mappings-editor"] = {"edited_rows": {3: {"Account code": "6300"}}, "added_rows": [],
                                           "deleted_rows": []}
    at.button(key="save-mappings").click().run()
    assert [(m.kind, m.key, m.account_code) for m in store.mappings()] == [("merchant", "ACME SDN BHD", "6300")]
    assert "1 mapping changed" in _texts(at, "success")


def test_learned_merchant_names_are_shown_and_can_be_forgotten(store: Store, app) -> None:
    add(store, "a.jpg", receipt())
    store.learn_name(["phone:0355423228"], "GARDENIA BAKERIES (KL) SDN BHD", "ann")
    at = app("mappings").run()
    learned = at.dataframe[2].value
    assert list(learned["Merchant name"]) == ["GARDENIA BAKERIES (KL) SDN BHD"]
    at.button(key="forget").click().run()
    assert store.learned_names() == []
    assert "Forgot the name learned under phone:0355423228." in _texts(at, "success")


def test_audit_page_lists_changes_and_exports_them_safely(store: Store, app) -> None:
    document_id = add(store, "a.jpg", receipt())
    store.record("correct", "=cmd|' /C calc'!A0", document_id, "total", "9.00", "10.00")
    at = app("audit").run()
    frame = at.dataframe[0].value
    assert list(frame["What"]) == ["correct", "import"]
    assert frame.iloc[0]["New value"] == "10.00"


def test_an_engine_that_cannot_start_is_explained(store: Store, app) -> None:
    def broken(settings):
        raise ConfigError("the model folder /nowhere does not exist; set WORKBENCH_VLM_MODEL")

    register("broken", broken)
    at = app("upload").run()
    at.sidebar.selectbox[0].set_value("broken")
    at.file_uploader[0].set_value(("shop.png", _png(), "image/png"))
    at.run()
    assert not at.exception
    assert "cannot start" in _texts(at, "error") and "WORKBENCH\\_VLM\\_MODEL" in _texts(at, "error")
    assert store.list() == []
