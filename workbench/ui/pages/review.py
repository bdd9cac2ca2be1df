"""Review page: the open document's page beside its fields, tax lines and items to correct and decide; the grid."""

from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from workbench.duplicates import document_total, find_duplicates
from workbench.errors import ConflictError
from workbench.review import (InvalidValueError, change_doc_type, correct, rejection_reason, set_line_items,
                              set_status, set_tax_lines)
from workbench.store import StoredDocument
from workbench.ui import resources, state
from workbench.ui.grid import (
    DECISIONS, EDITABLE_COLUMNS, KEY_FIELDS, STATUS_LABELS, FieldView, confidence_column, document_issues, field_views,
    grid_edits, grid_frame, matching, next_needing_review, selected_ids,
)
from workbench.ui.importing import offer_samples
from workbench.ui.page_image import MAGNIFICATIONS, decode, draw_boxes, pan_region, zoom
from workbench.ui.safe import plain
from workbench.validate import tax_lines_gross

FILTERS = {"needs_review": "Needs review", "all": "All", "approved": "Approved", "rejected": "Rejected",
           "failed": "Could not be read"}
SHORTCUTS = {"approve": "Ctrl+Enter", "next": "Alt+N", "reject": "Alt+X", "bulk_approve": "Alt+A"}
TAX_COLUMNS = {"Rate %": "rate", "Base": "base", "Tax": "amount"}
PLAIN_NUMBERS = ("rate", "tax_rate", "quantity")
ITEM_COLUMNS = {"Description": "description", "Qty": "quantity", "Price": "unit_price", "Amount": "amount",
                "Tax %": "tax_rate"}

settings = resources.settings()
store = resources.store()
user = state.user_name(settings)
threshold = settings.review_threshold


def _input_key(document_id: int, version: int, path: str) -> str:
    return f"field-{document_id}-{version}-{path}"


def _conflict(document_id: int) -> None:
    state.flash("warning", f"Document #{document_id} was changed by someone else in the meantime and has been"
                           " reloaded. Check it and apply your change again.")


def _refused(document_id: int, error: InvalidValueError | ConflictError) -> None:
    if isinstance(error, ConflictError):
        _conflict(document_id)
    else:
        state.flash("error", f"Not saved, document #{document_id}: {plain(error.user_message)}")


def _reopened(before: str, after: StoredDocument) -> None:
    if before == "approved" and after.status == "needs_review":
        state.flash("info", f"Document #{after.id} was approved; the change sent it back to review.")


def _save(document_id: int, version: int, values: dict[str, str | None], status: str | None,
          reason: str | None = None) -> bool:
    """Save corrections and/or a decision; a refused value or a concurrent change is explained, nothing half-saved."""
    try:
        before = store.get(document_id).status
        if values:
            saved = correct(store, document_id, version, user, values, settings.locale)
            version = saved.version
            if status is None:
                _reopened(before, saved)
        if status is not None:
            set_status(store, document_id, version, user, status, reason)
    except (InvalidValueError, ConflictError) as error:
        _refused(document_id, error)
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
    # Inputs of an older version may be gone from the session once a newer one was drawn: absent is unchanged.
    values = {path: st.session_state[_input_key(document_id, version, path)] for path in paths
              if _input_key(document_id, version, path) in st.session_state}
    current = {view.path: view.value for view in field_views(stored, threshold)}
    changed = {path: value for path, value in values.items() if (value or None) != current.get(path)}
    # A newer version holding exactly these values is this form's own earlier submission (Ctrl+Enter in a field
    # also submits the form by Enter); only differing values would overwrite someone else's change.
    if stored.version != version and changed:
        _conflict(document_id)
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
    reason = st.session_state.get(f"reason-{document_id}") if status == "rejected" else None
    if _save(document_id, version, {}, status, reason):
        state.flash("info", f"Document #{document_id} marked {STATUS_LABELS[status]}.")
        if status != "needs_review":
            _select_next(document_id)


def _change_type(document_id: int, version: int) -> None:
    doc_type = st.session_state[f"doctype-{document_id}-{version}"]
    try:
        before = store.get(document_id).status
        _reopened(before, change_doc_type(store, document_id, version, user, doc_type))
    except (InvalidValueError, ConflictError) as error:
        _refused(document_id, error)
        return
    state.flash("success", f"Document #{document_id} is now read as {doc_type}.")


def _bulk(document_ids: list[int], status: str) -> None:
    """Approve or reject the selected documents; those approval refuses are listed with the reason."""
    reason = st.session_state.get("bulk-reason") if status == "rejected" else None
    done, refused = [], []
    for document_id in document_ids:
        stored = store.get(document_id)
        try:
            set_status(store, document_id, stored.version, user, status, reason)
            done.append(document_id)
        except (InvalidValueError, ConflictError) as error:
            refused.append(f"#{document_id}: {plain(error.user_message)}")
    if done:
        state.flash("success", f"{STATUS_LABELS[status].capitalize()}: {', '.join(f'#{i}' for i in done)}.")
    if refused:
        state.flash("error", "Not changed: " + "; ".join(refused))
    st.session_state["grid_generation"] = st.session_state.get("grid_generation", 0) + 1


def _grid(documents: list[StoredDocument], duplicates: dict[int, list[int]]) -> list[int]:
    """The editable grid; returns the ids of the rows ticked in its Select column."""
    generation = st.session_state.setdefault("grid_generation", 0)
    key = f"review-grid-{generation}"
    frame = grid_frame(documents, threshold, duplicates)
    columns = {
        "Select": st.column_config.CheckboxColumn("✓", width=40, help="Tick rows to approve or reject together"),
        "ID": st.column_config.NumberColumn("ID", width=40, format="%d", pinned=True),
        "Status": st.column_config.SelectboxColumn("Status", options=[*DECISIONS, "failed"], required=True,
                                                   width=110, format_func=STATUS_LABELS.__getitem__),
        "Needs a look": st.column_config.TextColumn("Needs a look", width=170,
                                                    help=f"Fields read below {threshold:.0%} confidence, missing"
                                                         " or failing a check"),
        "Issues": st.column_config.NumberColumn("Issues", width=60, help="Validation problems"),
        "Exported": st.column_config.TextColumn("Exported", width=150,
                                                help="The bookkeeping export that booked the document"),
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
    edits = [edit for edit in grid_edits(frame, documents, edited) if edit.values or edit.status]
    if edits:
        for edit in edits:
            status = edit.status if edit.status in DECISIONS else None
            if _save(edit.document_id, edit.version, edit.values, status):
                state.flash("success", f"Saved document #{edit.document_id}.")
        st.session_state["grid_generation"] = generation + 1
        st.rerun()
    return selected_ids(frame, edited)


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
    # Boxes are drawn on the whole page before any magnifying, so they stay on their words at every scale.
    drawn = draw_boxes(image, number, views, zoom_choice)
    magnification = st.select_slider("Magnify the page", MAGNIFICATIONS, key=f"magnify-{stored.id}",
                                      format_func=lambda factor: "fit" if factor == 1 else f"{factor:g}×")
    caption = f"Page {number} of {stored.pages}"
    if magnification > 1:
        across, down = st.columns(2)
        left = across.slider("Pan across", 0, 100, 50, 5, key=f"pan-x-{stored.id}", format="%d%%")
        top = down.slider("Pan down", 0, 100, 0, 5, key=f"pan-y-{stored.id}", format="%d%%")
        drawn = drawn.crop(pan_region(drawn.size, magnification, left / 100, top / 100))
        caption += f" · {magnification:g}×"
    st.image(drawn, caption=caption, width="stretch", alt=caption)


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


def _text(value: object, name: str) -> str | None:
    if value is None:
        return None
    # Rates and quantities read as written (19, not 19.000); amounts keep their cents.
    return f"{value.normalize():f}" if isinstance(value, Decimal) and name in PLAIN_NUMBERS else str(value)


def _rows_editor(stored: StoredDocument, kind: str, columns: dict[str, str], rows: list[Any]) -> pd.DataFrame | None:
    """An editable table of rows (add, remove, edit) in a form; the edited table when its Save was pressed."""
    frame = pd.DataFrame([{label: _text(getattr(row, name), name) for label, name in columns.items()} for row in rows],
                         columns=list(columns)).astype("string")
    with st.form(f"{kind}-{stored.id}-{stored.version}", border=False):
        edited = st.data_editor(frame, key=f"{kind}-editor-{stored.id}-{stored.version}", hide_index=True,
                                num_rows="dynamic", width="stretch", placeholder="",
                                column_config={label: st.column_config.TextColumn(
                                    label, width=150 if name == "description" else 62)
                                    for label, name in columns.items()})
        saved = st.form_submit_button(f"Save {kind.replace('-', ' ')}", key=f"save-{kind}-{stored.id}",
                                      icon=":material/save:")
    return edited if saved else None


def _save_rows(stored: StoredDocument, kind: str, edited: pd.DataFrame, columns: dict[str, str]) -> None:
    rows = [{columns[label]: value for label, value in record.items()}
            for record in edited.astype(object).where(edited.notna(), None).to_dict("records")]
    save = set_tax_lines if kind == "tax-lines" else set_line_items
    try:
        saved = save(store, stored.id, stored.version, user, rows, settings.locale)
    except (InvalidValueError, ConflictError) as error:
        _refused(stored.id, error)
    else:
        _reopened(stored.status, saved)
        if saved.version != stored.version:
            state.flash("success", f"Saved the {kind.replace('-', ' ')} of document #{stored.id}; checks re-run.")
    st.rerun()


def _tax_balance(stored: StoredDocument) -> None:
    """The tax lines checked against the total: base plus tax over all rates must give the amount paid."""
    document = stored.current
    gross, total = tax_lines_gross(document), document_total(document)
    if not document.tax_lines:
        st.caption("No tax lines: add one row per tax rate (rate, the base it applies to, the tax).")
    elif gross is None or total is None:
        st.caption("Fill in rate, base and tax on every line to check them against the total.")
    else:
        net = sum((line.base for line in document.tax_lines), Decimal(0))
        tax = sum((line.amount for line in document.tax_lines), Decimal(0))
        if abs(gross - total) <= Decimal("0.01") * len(document.tax_lines):
            st.success(f"Tax lines match the total: base {net:.2f} + tax {tax:.2f} = {gross:.2f}.",
                       icon=":material/check:")
        else:
            st.error(f"Tax lines give base {net:.2f} + tax {tax:.2f} = {gross:.2f}, but the total reads {total:.2f}"
                     f" ({gross - total:+.2f}); correct a line or the total.", icon=":material/rule:")


def _lines(stored: StoredDocument) -> None:
    document = stored.current
    st.markdown("**Tax per rate**")
    _tax_balance(stored)
    edited = _rows_editor(stored, "tax-lines", TAX_COLUMNS, document.tax_lines)
    if edited is not None:
        _save_rows(stored, "tax-lines", edited, TAX_COLUMNS)
    st.markdown("**Line items**")
    items = [issue for issue in stored.issues if issue.field == "line_items"]
    for issue in items:
        st.warning(plain(issue.message), icon=":material/list:")
    edited = _rows_editor(stored, "line-items", ITEM_COLUMNS, document.line_items)
    if edited is not None:
        _save_rows(stored, "line-items", edited, ITEM_COLUMNS)


def _audit(stored: StoredDocument) -> None:
    entries = store.audit(stored.id)
    frame = pd.DataFrame([{"When": entry.at, "Who": entry.user, "What": entry.action, "Field": entry.field,
                           "Old value": entry.old_value, "New value": entry.new_value} for entry in entries])
    st.dataframe(frame, hide_index=True, width="stretch", placeholder="")


def _detail(stored: StoredDocument, duplicates: dict[int, list[str]]) -> None:
    views = field_views(stored, threshold)
    st.subheader(f"#{stored.id} · {plain(stored.file_name)}", anchor=False)
    exported = f" · booked by export {plain(stored.export_id)}" if stored.export_id else ""
    st.caption(f"{stored.doc_type or 'unread'} · {STATUS_LABELS[stored.status]} · read by {plain(stored.engine)}"
               f" · {stored.pages} page{'s' if stored.pages != 1 else ''} · version {stored.version}{exported}")
    if stored.status == "rejected" and (reason := rejection_reason(store, stored.id)):
        st.info(f"Rejected: {plain(reason)}", icon=":material/block:")
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
            if issue.field != "line_items":
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
        st.text_input("Reason for rejecting (optional)", key=f"reason-{stored.id}", max_chars=500,
                      placeholder="private purchase, not ours, duplicate…")
        st.toggle("Show empty fields", key=f"all-fields-{stored.id}")
        if stored.current is not None:
            types = ["receipt", "invoice"]
            st.selectbox("Document type", types, index=types.index(stored.doc_type or "receipt"),
                         key=f"doctype-{stored.id}-{stored.version}", on_change=_change_type,
                         args=(stored.id, stored.version),
                         help="A fuel receipt read as an invoice: change it here; fields both types have are kept.")
            _lines(stored)
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
           f" next document, {SHORTCUTS['reject']} rejects, {SHORTCUTS['next']} opens the next needing review,"
           f" {SHORTCUTS['bulk_approve']} approves the documents selected in the grid.")

st.subheader("All documents", anchor=False, divider="gray")
view = st.radio("Show", list(FILTERS), horizontal=True, key="review_filter", label_visibility="collapsed",
                format_func=lambda key: f"{FILTERS[key]} ({len(documents) if key == 'all' else counts[key]})")
query = st.text_input("Search", key="review_search", placeholder="supplier, file, number, amount, date…",
                      help="Shows only the documents whose row holds every word typed here.")
shown = documents if view == "all" else [stored for stored in documents if stored.status == view]
shown = matching(shown, grid_frame(shown, threshold, duplicate_ids), query)
if shown:
    st.caption("Edit a cell to correct a field or change a status; each edit is checked and saved at once. Tick"
               " rows (or select all shown) to approve or reject them together.")
    ticked = _grid(shown, duplicate_ids)
    select_all = st.checkbox(f"Select all {len(shown)} shown", key=f"select-all-{st.session_state['grid_generation']}")
    chosen = [stored.id for stored in shown] if select_all else ticked
    approve, reject, reason = st.columns([2, 2, 3], vertical_alignment="bottom")
    approve.button(f"Approve selected ({len(chosen)})", icon=":material/done_all:", type="primary",
                   width="stretch", shortcut=SHORTCUTS["bulk_approve"], disabled=not chosen, on_click=_bulk,
                   args=(chosen, "approved"), key="bulk-approve")
    reject.button(f"Reject selected ({len(chosen)})", icon=":material/block:", width="stretch",
                  disabled=not chosen, on_click=_bulk, args=(chosen, "rejected"), key="bulk-reject")
    reason.text_input("Reason for rejecting the selected", key="bulk-reason", max_chars=500)
else:
    st.caption("No documents here." if not query else "No document matches the search.")
