"""The review grid's rows, edits and field order, and the escaping of user text."""

from schemas import Issue
from workbench.review import correct
from workbench.store import Store
from workbench.ui.grid import field_views, grid_edits, grid_frame, next_needing_review
from workbench.ui.safe import plain

from tests.app.conftest import add, invoice, receipt


def test_grid_edits_map_columns_to_each_document_types_fields(store: Store) -> None:
    add(store, "a.jpg", receipt())
    add(store, "b.xml", invoice())
    documents = store.list()
    frame = grid_frame(documents, 0.9)
    edits = grid_edits(frame, documents, {0: {"Total": "10.00"}, 1: {"Party": "", "Date": "2024-03-06",
                                                                    "Status": "approved"}})
    assert edits[0].values == {"total": "10.00"} and edits[0].status is None
    assert edits[1].values == {"seller.name": "", "issue_date": "2024-03-06"} and edits[1].status == "approved"


def test_failing_fields_come_first_then_low_ones_and_user_values_are_never_low(store: Store) -> None:
    document_id = add(store, "a.jpg", receipt(), issues=[Issue(code="x", field="total", message="does not add up")])
    views = field_views(store.get(document_id), 0.9)
    assert [view.path for view in views[:2]] == ["total", "date"]
    assert views[0].failing and views[1].low and not views[2].attention
    corrected = correct(store, document_id, 1, "tester", {"date": "2018-12-24"})
    date = next(view for view in field_views(corrected, 0.9) if view.path == "date")
    assert not date.low and date.state == "corrected"


def test_missing_required_fields_need_a_look(store: Store) -> None:
    document_id = add(store, "a.jpg", receipt())
    frame = grid_frame([store.get(document_id)], 0.9)
    assert frame.iloc[0]["Number conf."] == ""
    empty = store.get(add(store, "e.jpg", receipt().model_copy(update={"total": receipt().tax_total})))
    row = grid_frame([empty], 0.9).iloc[0]
    assert row["Total conf."] == "⚠ missing" and "Total" in row["Needs a look"]


def test_next_needing_review_goes_forward_and_wraps(store: Store) -> None:
    first = add(store, "a.jpg", receipt())
    add(store, "b.xml", invoice(), status="approved")
    third = add(store, "c.jpg", receipt(merchant="C"))
    documents = store.list()
    assert next_needing_review(documents, None) == first
    assert next_needing_review(documents, first) == third
    assert next_needing_review(documents, third) == first
    assert next_needing_review([d for d in documents if d.id != first], third) is None


def test_plain_escapes_markdown_and_html() -> None:
    assert plain("[x](http://e.vil) <b>*y*</b>") == "\\[x\\]\\(http\\:\\/\\/e\\.vil\\) \\<b\\>\\*y\\*\\<\\/b\\>"
