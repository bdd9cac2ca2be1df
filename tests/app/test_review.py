"""AppTest of the review page: the grid, field corrections (refused and saved), decisions and conflicts."""

from schemas import Issue
from workbench.review import correct
from workbench.store import Store

from tests.app.conftest import add, invoice, receipt


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
