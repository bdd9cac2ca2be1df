"""Review page: the grid of documents, then the open document's page image beside its fields to correct and decide."""

import pandas as pd
import streamlit as st

from workbench.duplicates import find_duplicates
from workbench.errors import ConflictError
from workbench.review import InvalidValueError, correct, set_status
from workbench.store import StoredDocument
from workbench.ui import resources, state
from workbench.ui.grid import (
    DECISIONS, EDITABLE_COLUMNS, KEY_FIELDS, STATUS_LABELS, FieldView, confidence_column, document_issues, field_views, grid_edits,
    grid_frame, next_needing_review,
)
from workbench.ui.importing import offer_samples
from workbench.ui.page_image import decode, draw_boxes, zoom
from workbench.ui.safe import plain

FILTERS = {"needs_review": "Needs review", "all": "All", "approved": "Approved", "rejected": "Rejected",
           "failed": "Could not be read"}
SHORTCUTS = {"approve": "Ctrl+Enter", "next": "Alt+N", "reject": "Alt+X"}

settings = resources.settings()
store = resources.store()
user = state.user_name(settings)
threshold = settings.review_threshold


def _input_key(document_id: int, version: int, path: str) -> str:
    return f"field-{document_id}-{version}-{path}"


def _save(document_id: int, version: int, values: dict[str, str | None], status: str | None) -> bool:
    """Save corrections and/or a decision; a refused value or a concurrent change is explained, nothing half-saved."""
    try:
        if values:
            version = correct(store, document_id, version, user, values).version
        if status is not None:
            set_status(store, document_id, version, user, status)
    except InvalidValueError as error:
        state.flash("error", f"Not saved, document #{document_id}: {plain(error.user_message)}")
        return False
    except ConflictError:
        state.flash("warning", f"Document #{document_id} was changed by someone else in the meantime and has been"
                               " reloaded. Check it and apply your change again.")
        return False
    return True


def _open_next() -> None:
    _select_next(state.selected_document())


def _select_next(after: int | None) -> None:
    following = next_needing_review(store.list(), after)
    if following is None:
        state.flash("success", "Nothing left to review.")
    state.select_document(following if following is not None else after)


def _submit_fields(document_id: int, version: int, paths: list[str], approve: bool) -> None:
    stored = store.get(document_id)
    values = {path: st.session_state.get(_input_key(document_id, version, path)) for path in paths}
    current = {view.path: view.value for view in field_views(stored, threshold)}
    changed = {path: value for path, value in values.items() if (value or None) != current.get(path)}
    # A newer version holding exactly these values is this form's own earlier submission (Ctrl+Enter in a field
    # also submits the form by Enter); only differing values would overwrite someone else's change.
    if stored.version != version and changed:
        state.flash("warning", f"Document #{document_id} was changed by someone else in the meantime and has been"
                               " reloaded. Check it and apply your change again.")
        return
    if not _save(document_id, stored.version, changed, "approved" if approve else None):
        return
    if approve:
        state.flash("success", f"Document #{document_id} approved.")
        _select_next(document_id)
    elif changed:
        state.flash("success", f"Saved {len(changed)} field{'s' if len(changed) != 1 else ''} of document"
                               f" #{document_id}.")


def _decide(document_id: int, version: int, status: str) -> None:
    if _save(document_id, version, {}, status):
        state.flash("info", f"Document #{document_id} marked {STATUS_LABELS[status]}.")
        if status != "needs_review":
            _select_next(document_id)


def _grid(documents: list[StoredDocument], duplicates: dict[int, list[int]]) -> None:
    generation = st.session_state.setdefault("grid_generation", 0)
    key = f"review-grid-{generation}"
    frame = grid_frame(documents, threshold, duplicates)
    columns = {
        "ID": st.column_config.NumberColumn("ID", width=40, format="%d", pinned=True),
        "Status": st.column_config.SelectboxColumn("Status", options=[*DECISIONS, "failed"], required=True,
                                                   width=110, format_func=STATUS_LABELS.__getitem__),
        "Needs a look": st.column_config.TextColumn("Needs a look", width=170,
                                                    help=f"Fields read below {threshold:.0%} confidence, missing"
                                                         " or failing a check"),
        "Issues": st.column_config.NumberColumn("Issues", width=60, help="Validation problems"),
        "Duplicate of": st.column_config.TextColumn("Duplicate of", width=90),
        "File": st.column_config.TextColumn("File", width=180),
        "Type": st.column_config.TextColumn("Type", width=70),
    }
    for column in KEY_FIELDS:
        columns[column] = st.column_config.TextColumn(column, width=190 if column == "Party" else 95)
        columns[confidence_column(column)] = st.column_config.TextColumn(
            "conf.", width=62, help=f"Confidence of {column}; ⚠ below {threshold:.0%}, ✎ typed by a person")
    st.data_editor(frame, key=key, hide_index=True, column_config=columns, placeholder="",
                   column_order=[column for column in frame.columns if column != "version"],
                   disabled=[column for column in frame.columns if column not in EDITABLE_COLUMNS],
                   height=min(38 + 35 * max(len(frame), 1), 420))
    edited = st.session_state.get(key, {}).get("edited_rows", {})
    if edited:
        for edit in grid_edits(frame, documents, edited):
            status = edit.status if edit.status in DECISIONS else None
            if _save(edit.document_id, edit.version, edit.values, status) and (edit.values or status):
                state.flash("success", f"Saved document #{edit.document_id}.")
        st.session_state["grid_generation"] = generation + 1
        st.rerun()


def _field_label(view: FieldView) -> str:
    """Plain text (it is also the input's accessible name): the field, its confidence and who read it."""
    if view.origin == "user":
        note = "corrected"
    elif view.value is None:
        note = "missing" if view.required else "not found"
    else:
        note = f"{view.confidence:.0%} · {view.origin or 'unknown'}"
    flag = "⚠ " if view.attention else ""
    return f"{flag}{view.label} — {note}"


def _page_view(stored: StoredDocument, views: list[FieldView]) -> None:
    if stored.pages == 0:
        st.info("This document has no page image (an XML e-invoice).", icon=":material/code:")
        return
    boxed = [view for view in views if view.bbox is not None and view.page is not None]
    zoom_choice = st.selectbox("Zoom on field", [view.path for view in boxed],
                               format_func=lambda path: next(v.label for v in boxed if v.path == path),
                               key=f"zoom-{stored.id}", disabled=not boxed,
                               placeholder="no field has a box on the page")
    selected = next((view for view in boxed if view.path == zoom_choice), None)
    number = 1
    if stored.pages > 1:
        number = st.radio("Page", list(range(1, stored.pages + 1)), horizontal=True, key=f"page-{stored.id}",
                          index=(selected.page - 1) if selected and selected.page else 0)
    page = store.page(stored.id, number)
    if page is None:
        st.warning(f"Page {number} has no stored image.")
        return
    image = decode(page.image)
    if selected is not None and selected.page == number and selected.bbox is not None:
        st.image(zoom(image, selected.bbox), caption=f"Zoom: {selected.label}", width="stretch")
    st.image(draw_boxes(image, number, views, zoom_choice), caption=f"Page {number} of {stored.pages}",
             width=min(image.width, 640))


def _field_form(stored: StoredDocument, views: list[FieldView]) -> None:
    show_all = st.session_state.get(f"all-fields-{stored.id}", False)
    shown = [view for view in views if show_all or view.value is not None or view.attention or view.required]
    with st.form(f"fields-{stored.id}-{stored.version}", border=False):
        for view in shown:
            help_text = "; ".join(plain(message) for message in view.issues) or None
            st.text_input(_field_label(view), value=view.value or "", help=help_text,
                          key=_input_key(stored.id, stored.version, view.path),
                          placeholder="missing" if view.required else "")
        left, right = st.columns(2)
        paths = [view.path for view in shown]
        left.form_submit_button("Save (Enter)", width="stretch", key=f"save-{stored.id}", on_click=_submit_fields,
                                args=(stored.id, stored.version, paths, False))
        right.form_submit_button("Save & approve", type="primary", width="stretch", icon=":material/check:",
                                 shortcut=SHORTCUTS["approve"], key=f"approve-{stored.id}", on_click=_submit_fields,
                                 args=(stored.id, stored.version, paths, True))


def _audit(stored: StoredDocument) -> None:
    entries = store.audit(stored.id)
    frame = pd.DataFrame([{"When": entry.at, "Who": entry.user, "What": entry.action, "Field": entry.field,
                           "Old value": entry.old_value, "New value": entry.new_value} for entry in entries])
    st.dataframe(frame, hide_index=True, width="stretch", placeholder="")


def _detail(stored: StoredDocument, duplicates: dict[int, list[str]]) -> None:
    views = field_views(stored, threshold)
    st.subheader(f"#{stored.id} · {plain(stored.file_name)}", anchor=False)
    st.caption(f"{stored.doc_type or 'unread'} · {STATUS_LABELS[stored.status]} · read by {plain(stored.engine)}"
               f" · {stored.pages} page{'s' if stored.pages != 1 else ''} · version {stored.version}")
    for reason in duplicates.get(stored.id, []):
        st.warning(reason, icon=":material/content_copy:")
    if stored.error:
        st.error(f"Could not be read: {plain(stored.error)}", icon=":material/error:")
    # Fields first in the page's tab order, so few Tab presses reach the first field needing a look.
    fields_column, image_column = st.columns([4, 5], gap="large")
    with image_column:
        _page_view(stored, views)
    with fields_column:
        for issue in document_issues(stored):
            (st.error if issue.severity == "error" else st.warning)(plain(issue.message), icon=":material/rule:")
        if stored.current is not None:
            _field_form(stored, views)
        reject, back = st.columns(2)
        reject.button("Reject", icon=":material/block:", width="stretch", shortcut=SHORTCUTS["reject"],
                      disabled=stored.status == "rejected", on_click=_decide,
                      args=(stored.id, stored.version, "rejected"), key=f"reject-{stored.id}")
        back.button("Back to review", icon=":material/undo:", width="stretch",
                    disabled=stored.status == "needs_review", on_click=_decide,
                    args=(stored.id, stored.version, "needs_review"), key=f"back-{stored.id}")
        st.toggle("Show empty fields", key=f"all-fields-{stored.id}")
    with st.expander("Audit trail", icon=":material/history:"):
        _audit(stored)


st.title("Review", anchor=False)
state.show_flashes()
documents = store.list()
if not documents:
    st.info("No documents yet. Import some on the Import page, or start with the bundled samples.",
            icon=":material/inbox:")
    if offer_samples(store, settings):
        st.rerun()
    st.stop()

found = find_duplicates(documents)
duplicate_ids = {document_id: [d.other_id for d in others] for document_id, others in found.items()}
duplicate_text = {document_id: [f"Possible duplicate of #{d.other_id}: {plain(d.reason)}" for d in others]
                  for document_id, others in found.items()}
counts = {status: sum(stored.status == status for stored in documents) for status in STATUS_LABELS}

ids = [stored.id for stored in documents]
if state.selected_document() not in ids:
    state.select_document(next_needing_review(documents, None) or ids[0])
by_id = {stored.id: stored for stored in documents}
pick, step = st.columns([4, 1], vertical_alignment="bottom")
pick.selectbox("Open document", ids, key=state.SELECTED_KEY,
               format_func=lambda document_id: f"#{document_id} · {by_id[document_id].file_name}"
                                               f" · {STATUS_LABELS[by_id[document_id].status]}")
step.button("Next needing review", icon=":material/skip_next:", type="primary", width="stretch",
            shortcut=SHORTCUTS["next"], on_click=_open_next, disabled=counts["needs_review"] == 0)
_detail(by_id[state.selected_document()], duplicate_text)
st.caption(f"Keys: Tab moves between fields, Enter saves, {SHORTCUTS['approve']} saves and approves and opens the"
           f" next document, {SHORTCUTS['reject']} rejects, {SHORTCUTS['next']} opens the next needing review.")

st.subheader("All documents", anchor=False, divider="gray")
view = st.radio("Show", list(FILTERS), horizontal=True, key="review_filter", label_visibility="collapsed",
                format_func=lambda key: f"{FILTERS[key]} ({len(documents) if key == 'all' else counts[key]})")
shown = documents if view == "all" else [stored for stored in documents if stored.status == view]
if shown:
    st.caption("Edit a cell to correct a field or change a status; each edit is checked and saved at once.")
    _grid(shown, duplicate_ids)
else:
    st.caption("No documents here.")
