"""Audit page: every change of a field, status, mapping or export, with old and new value, time and user."""

import csv
import io

import pandas as pd
import streamlit as st

from workbench.export.text import csv_text
from workbench.store import AuditEntry
from workbench.ui import resources

COLUMNS = ["When", "Who", "Document", "What", "Field", "Old value", "New value"]


def audit_csv(entries: list[AuditEntry]) -> bytes:
    """The audit trail as UTF-8 CSV; text a spreadsheet would run as a formula is kept as text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow([entry.at, csv_text(entry.user), entry.document_id or "", entry.action,
                         csv_text(entry.field), csv_text(entry.old_value), csv_text(entry.new_value)])
    return buffer.getvalue().encode("utf-8-sig")


store = resources.store()
entries = store.audit()

st.title("Audit trail", anchor=False)
st.caption("Every import, correction, decision, mapping change and export, newest first. The original reading of"
           " each document stays stored beside its corrections.")
left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
actions = left.multiselect("Actions", sorted({entry.action for entry in entries}), placeholder="all actions")
document = middle.number_input("Document", min_value=0, value=0, step=1, help="0 shows every document")
shown = [entry for entry in reversed(entries)
         if (not actions or entry.action in actions) and (not document or entry.document_id == document)]
right.download_button("Download CSV", data=audit_csv(shown), file_name="workbench-audit.csv", mime="text/csv",
                      icon=":material/download:", disabled=not shown, on_click="ignore")
frame = pd.DataFrame([[entry.at, entry.user, entry.document_id, entry.action, entry.field, entry.old_value,
                       entry.new_value] for entry in shown], columns=COLUMNS)
st.dataframe(frame, hide_index=True, width="stretch", height=min(38 + 35 * max(len(frame), 1), 700), placeholder="",
             column_config={"Document": st.column_config.NumberColumn(format="%d")})
