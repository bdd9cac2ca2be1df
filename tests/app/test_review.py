"""AppTest of the review page: the grid, field corrections (refused and saved), decisions and conflicts."""

from decimal import Decimal

from schemas import Issue, LineItem, Receipt, TaxLine
from workbench.review import correct
from workbench.store import Store
from workbench.validate import validate

from tests.app.conftest import add, field, invoice, receipt


def _grid(at):
    return next(frame for frame in at.dataframe if (frame.key or "").startswith("review-grid")).value


def _texts(at) -> str:
    return "\n".join(element.value for kind in ("error", "warning", "success", "info")
                     for element in at.get(kind))


def test_grid_shows_one_row_per_document_with_confidence_and_flags(store: Store, app) -> None:
    add(store, "a.jpg", receipt())
    add(store, "b.xml", invoice(), status="approved")
    at = app("review").run()
    assert not at.exception
    at.radio(key="review_filter").set_value("all").run()
    grid = _grid(at)
    assert list(grid["File"]) == ["a.jpg", "b.xml"]
    first = grid.iloc[0]
    assert first["Party"] == "ACME SDN BHD" and first["Party conf."] == "97%"
    assert first["Date"] == "2018-12-25" and first["Date conf."] == "⚠ 50%"
    assert "Date" in first["Needs a look"]
    assert grid.iloc[1]["Party"] == "Lieferant GmbH" and grid.iloc[1]["Total"] == "119.00"


def test_needs_review_filter_is_the_default_and_hides_decided_documents(store: Store, app) -> None:
    add(store, "a.jpg", receipt())
    add(store, "b.xml", invoice(), status="approved")
    at = app("review").run()
    assert list(_grid(at)["File"]) == ["a.jpg"]
    at.radio(key="review_filter").set_value("approved").run()
    assert list(_grid(at)["File"]) == ["b.xml"]


def test_open_document_lists_low_confidence_fields_first(store: Store, app) -> None:
    document_id = add(store, "a.jpg", receipt())
    at = app("review").run()
    labels = [widget.label for widget in at.text_input]
    assert labels[0].startswith("⚠ Date")
    assert at.text_input(key=f"field-{document_id}-1-date").value == "2018-12-25"
    captions = [caption for image in at.get("image") for caption in image.captions]
    assert captions == ["Zoom: Date", "Page 1 of 1"]


def test_bad_date_is_refused_with_a_message_and_nothing_saved(store: Store, app) -> None:
    document_id = add(store, "a.jpg", receipt())
    at = app("review").run()
    at.text_input(key=f"field-{document_id}-1-date").set_value("2019-02-31")
    at.button(key=f"save-{document_id}").click().run()
    assert "Not saved" in _texts(at) and "date" in _texts(at)
    assert store.get(document_id).version == 1
    assert str(store.get(document_id).current.date.value) == "2018-12-25"


def test_good_edit_is_saved_at_once_and_audited(store: Store, app) -> None:
    document_id = add(store, "a.jpg", receipt())
    at = app("review").run()
    at.text_input(key=f"field-{document_id}-1-total").set_value("12.50")
    at.button(key=f"save-{document_id}").click().run()
    stored = store.get(document_id)
    assert str(stored.current.total.value) == "12.50" and stored.current.total.origin == "user"
    assert str(stored.original.total.value) == "9.00"
    assert [(e.action, e.field, e.old_value, e.new_value, e.user) for e in store.audit(document_id)][-1] == \
        ("correct", "total", "9.00", "12.50", "tester")
    assert _grid(at).iloc[0]["Total"] == "12.50"


def test_grid_edit_with_a_bad_amount_is_refused(store: Store, app) -> None:
    document_id = add(store, "a.jpg", receipt())
    at = app("review").run()
    at.session_state["review-grid-0"] = {"edited_rows": {0: {"Total": "twelve"}}, "added_rows": [],
                                         "deleted_rows": []}
    at.run()
    assert "Not saved" in _texts(at) and "total" in _texts(at).lower()
    assert store.get(document_id).version == 1


def test_approve_saves_and_opens_the_next_document_needing_review(store: Store, app) -> None:
    first = add(store, "a.jpg", receipt())
    second = add(store, "c.jpg", receipt(merchant="OTHER SHOP", total="3.00"))
    at = app("review").run()
    at.text_input(key=f"field-{first}-1-date").set_value("2018-12-24")
    at.button(key=f"approve-{first}").click().run()
    stored = store.get(first)
    assert stored.status == "approved" and str(stored.current.date.value) == "2018-12-24"
    assert at.selectbox(key="selected_document").value == second
    assert "approved" in _texts(at)


def test_reject_is_recorded(store: Store, app) -> None:
    document_id = add(store, "a.jpg", receipt())
    at = app("review").run()
    at.button(key=f"reject-{document_id}").click().run()
    assert store.get(document_id).status == "rejected"
    assert store.audit(document_id)[-1].new_value == "rejected"


def test_concurrent_change_is_not_overwritten(store: Store, app) -> None:
    document_id = add(store, "a.jpg", receipt())
    at = app("review").run()
    correct(store, document_id, 1, "someone else", {"total": "10.00"})
    at.text_input(key=f"field-{document_id}-1-total").set_value("12.50")
    at.button(key=f"save-{document_id}").click().run()
    assert "changed by someone else" in _texts(at)
    assert str(store.get(document_id).current.total.value) == "10.00"


def test_issues_and_duplicates_are_shown(store: Store, app) -> None:
    add(store, "a.jpg", receipt(), issues=[Issue(code="total_mismatch", field="total",
                                                 message="subtotal + tax = 8.00, not the total 9.00")])
    add(store, "a-copy.jpg", receipt(date_confidence=0.99))
    at = app("review").run()
    text = _texts(at)
    assert "Possible duplicate of #2" in text
    assert "not the total 9\\.00" in text
    assert _grid(at).iloc[0]["Duplicate of"] == "#2"


def test_user_text_is_never_rendered_as_html(store: Store, app) -> None:
    add(store, "<img src=x onerror=alert(1)>.jpg", receipt(merchant="<script>alert(1)</script> [x](http://e.vil)"))
    at = app("review").run()
    assert not at.exception
    assert not any(element.proto.allow_html for kind in ("markdown", "caption", "error", "warning")
                   for element in at.get(kind) if hasattr(element.proto, "allow_html"))
    heading = at.subheader[0].value
    assert "\\<img" in heading


def test_empty_database_offers_the_samples(store: Store, app) -> None:
    at = app("review").run()
    assert "No documents yet" in _texts(at)


def _euro(merchant: str = "LIDL", total: str = "8.99", **fields) -> Receipt:
    document = receipt(merchant=merchant, total=total, date_confidence=0.99)
    return document.model_copy(update={"currency": field("EUR", 0.95, (260, 700, 298, 740)), **fields})


def test_page_image_fits_its_column_and_magnifies_with_pan_on_demand(store: Store, app) -> None:
    add(store, "a.jpg", receipt())
    at = app("review").run()
    page = [image for image in at.get("image") if image.proto.imgs[0].caption.startswith("Page")][0]
    assert page.proto.imgs[0].alt == "Page 1 of 1"
    assert not [slider for slider in at.slider if slider.label.startswith("Pan")]
    at.select_slider(key="magnify-1").set_value(2.0).run()
    assert [slider.label for slider in at.slider] == ["Pan across", "Pan down"]
    at.slider(key="pan-y-1").set_value(100).run()
    captions = [caption for image in at.get("image") for caption in image.captions]
    assert captions[-1] == "Page 1 of 1 · 2×"


def test_tax_lines_are_shown_checked_against_the_total_and_edited(store: Store, app) -> None:
    document_id = add(store, "aldi.jpg", _euro(total="2.14", tax_lines=[
        TaxLine(rate=Decimal("7"), base=Decimal("1.00"), amount=Decimal("0.07")),
        TaxLine(rate=Decimal("19"), base=Decimal("1.00"), amount=Decimal("0.19"))]))
    at = app("review").run()
    assert "Tax lines give base 2.00 + tax 0.26 = 2.26, but the total reads 2.14" in _texts(at)
    at.session_state[f"tax-lines-editor-{document_id}-1"] = {
        "edited_rows": {1: {"Base": "0,90", "Tax": "0,17"}}, "added_rows": [], "deleted_rows": []}
    at.button(key=f"save-tax-lines-{document_id}").click().run()
    lines = store.get(document_id).current.tax_lines
    assert [(line.rate, line.base, line.amount) for line in lines] == [
        (Decimal("7"), Decimal("1.00"), Decimal("0.07")), (Decimal("19"), Decimal("0.90"), Decimal("0.17"))]
    assert "Tax lines match the total: base 1.90 + tax 0.24 = 2.14." in _texts(at)


def test_line_items_can_be_added_edited_and_removed_and_the_warning_clears(store: Store, app) -> None:
    document = _euro(total="3.00", line_items=[LineItem(description="Brot", amount=Decimal("1.20")),
                                               LineItem(description="BED.NR.:120 KASSE 02", amount=Decimal("120.00"))])
    document_id = add(store, "lidl.jpg", document, issues=validate(document))
    at = app("review").run()
    assert "line items add up to 121\\.20" in _texts(at)
    at.session_state[f"line-items-editor-{document_id}-1"] = {
        "edited_rows": {0: {"Amount": "1,20"}}, "deleted_rows": [1],
        "added_rows": [{"Description": "Milch", "Qty": "2", "Price": "0,90", "Amount": "1,80"}]}
    at.button(key=f"save-line-items-{document_id}").click().run()
    stored = store.get(document_id)
    assert [(item.description, item.amount) for item in stored.current.line_items] == [
        ("Brot", Decimal("1.20")), ("Milch", Decimal("1.80"))]
    assert "line_items_mismatch" not in [issue.code for issue in stored.issues]
    assert "line items add up" not in _texts(at)
    assert "Saved the line items of document #1" in _texts(at)


def test_german_comma_and_day_first_date_typed_into_fields(store: Store, app) -> None:
    document_id = add(store, "lidl.jpg", _euro())
    at = app("review").run()
    at.text_input(key=f"field-{document_id}-1-total").set_value("0,31")
    at.text_input(key=f"field-{document_id}-1-date").set_value("13.09.2022")
    at.button(key=f"save-{document_id}").click().run()
    stored = store.get(document_id)
    assert str(stored.current.total.value) == "0.31" and str(stored.current.date.value) == "2022-09-13"
    at.text_input(key=f"field-{document_id}-{stored.version}-date").set_value("31.02.2022")
    at.button(key=f"save-{document_id}").click().run()
    text = _texts(at)
    assert "is not a date of the calendar" in text and "pydantic" not in text and "Input should" not in text


def test_approval_needs_the_booking_fields_and_an_edit_reopens(store: Store, app) -> None:
    document_id = add(store, "a.jpg", receipt().model_copy(update={"merchant_name": field(None, 0.0)}))
    at = app("review").run()
    at.button(key=f"approve-{document_id}").click().run()
    assert "cannot be approved without supplier" in _texts(at)
    assert store.get(document_id).status == "needs_review"
    at.text_input(key=f"field-{document_id}-1-merchant_name").set_value("ACME")
    at.button(key=f"approve-{document_id}").click().run()
    assert store.get(document_id).status == "approved"
    version = store.get(document_id).version
    at.text_input(key=f"field-{document_id}-{version}-total").set_value("9.50")
    at.button(key=f"save-{document_id}").click().run()
    assert store.get(document_id).status == "needs_review"
    assert "was approved; the change sent it back to review" in _texts(at)


def test_bulk_approve_of_ticked_rows_names_the_ones_refused(store: Store, app) -> None:
    first = add(store, "a.jpg", receipt())
    second = add(store, "b.jpg", receipt(merchant="OTHER", total="3.00"))
    third = add(store, "c.jpg", receipt(merchant="THIRD").model_copy(update={"currency": field(None, 0.0)}))
    at = app("review").run()
    at.session_state["review-grid-0"] = {"edited_rows": {0: {"Select": True}, 2: {"Select": True}},
                                         "added_rows": [], "deleted_rows": []}
    at.run()
    assert at.button(key="bulk-approve").label == "Approve selected (2)"
    at.button(key="bulk-approve").click().run()
    assert [store.get(i).status for i in (first, second, third)] == ["approved", "needs_review", "needs_review"]
    assert "Approved: #1" in _texts(at) and "#3: c\\.jpg cannot be approved without currency" in _texts(at)


def test_search_filters_the_grid_and_select_all_shown_rejects_with_a_reason(store: Store, app) -> None:
    add(store, "a.jpg", receipt())
    other = add(store, "b.jpg", receipt(merchant="OTHER SHOP", total="3.00"))
    at = app("review").run()
    at.text_input(key="review_search").set_value("other 3.00").run()
    assert list(_grid(at)["File"]) == ["b.jpg"]
    at.checkbox(key="select-all-0").check().run()
    at.text_input(key="bulk-reason").set_value("private purchase").run()
    at.button(key="bulk-reject").click().run()
    assert [d.status for d in store.list()] == ["needs_review", "rejected"]
    assert [(e.action, e.new_value) for e in store.audit(other)][-1] == ("reason", "private purchase")
    at.text_input(key="review_search").set_value("nothing like it").run()
    assert "No document matches the search." in [caption.value for caption in at.caption]


def test_reject_with_a_reason_and_the_reason_is_shown(store: Store, app) -> None:
    document_id = add(store, "a.jpg", receipt())
    add(store, "b.jpg", receipt(merchant="B", total="1.00"))
    at = app("review").run()
    at.text_input(key=f"reason-{document_id}").set_value("not ours")
    at.button(key=f"reject-{document_id}").click().run()
    assert store.get(document_id).status == "rejected"
    at.selectbox(key="selected_document").set_value(document_id).run()
    assert "Rejected: not ours" in _texts(at)


def test_document_type_can_be_changed_in_review(store: Store, app) -> None:
    document_id = add(store, "fuel.jpg", invoice())
    at = app("review").run()
    at.selectbox(key=f"doctype-{document_id}-1").set_value("receipt").run()
    stored = store.get(document_id)
    assert stored.doc_type == "receipt" and stored.current.merchant_name.value == "Lieferant GmbH"
    assert "now read as receipt" in _texts(at)
    assert _grid(at).iloc[0]["Type"] == "receipt"


def test_grid_shows_the_exported_state_and_the_export_page_opens_a_document(store: Store, app) -> None:
    add(store, "a.jpg", receipt())
    second = add(store, "b.jpg", receipt(merchant="B", total="1.00"))
    store.mark_exported([second], "EXP-20240101-0000-abcdef", "x.csv", "csv:xero", "tester")
    at = app("review")
    at.session_state["selected_document"] = second  # what the Export page's "Open #2" button sets
    at.run()
    assert at.selectbox(key="selected_document").value == second
    assert "booked by export EXP\\-20240101\\-0000\\-abcdef" in at.caption[0].value
    grid = _grid(at)
    assert list(grid["Exported"]) == ["", "EXP-20240101-0000-abcdef"]
