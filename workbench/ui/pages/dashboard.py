"""Dashboard page: documents by status, totals by month and currency (rejected and unread left out), and a chart."""

import pandas as pd
import streamlit as st

from workbench.duplicates import document_date, document_total
from workbench.store import StoredDocument
from workbench.ui import resources
from workbench.ui.grid import STATUS_LABELS


def totals_by_month(documents: list[StoredDocument]) -> pd.DataFrame:
    """Sum of document totals per month (YYYY-MM) and currency, with the number of documents.

    Rejected documents are not spending to count, and unread ones have no total: both are left out.
    """
    rows = []
    for stored in documents:
        document = stored.current
        if document is None or stored.status in ("rejected", "failed"):
            continue
        date, total = document_date(document), document_total(document)
        if date is None or total is None:
            continue
        rows.append({"Month": f"{date:%Y-%m}", "Currency": document.currency.value or "unknown",
                     "Total": float(total), "Documents": 1})
    frame = pd.DataFrame(rows, columns=["Month", "Currency", "Total", "Documents"])
    return frame.groupby(["Month", "Currency"], as_index=False).sum().sort_values(["Month", "Currency"])


store = resources.store()
documents = store.list()

st.title("Dashboard", anchor=False)
status_columns = st.columns(len(STATUS_LABELS))
for column, (status, label) in zip(status_columns, STATUS_LABELS.items(), strict=True):
    column.metric(label.capitalize(), sum(stored.status == status for stored in documents), border=True)

if not documents:
    st.info("No documents yet. Import some on the Import page.", icon=":material/inbox:")
    st.stop()

totals = totals_by_month(documents)
counted = [stored for stored in documents if stored.status not in ("rejected", "failed")]
undated = len(counted) - int(totals["Documents"].sum())
st.subheader("Totals by month and currency", anchor=False)
if totals.empty:
    st.caption("No document has both a date and a total yet.")
else:
    chart_column, table_column = st.columns([3, 2], gap="large")
    chart_column.bar_chart(totals, x="Month", y="Total", color="Currency", stack=False,
                           x_label="Month", y_label="Total")
    table_column.dataframe(totals, hide_index=True, width="stretch",
                           column_config={"Total": st.column_config.NumberColumn(format="%.2f")})
if undated:
    st.caption(f"{undated} document{'s' if undated != 1 else ''} without a date or total are not counted above.")
st.caption("Rejected documents and documents that could not be read are not counted in the totals.")

st.subheader("By engine and type", anchor=False)
mix = pd.DataFrame([{"Engine": stored.engine, "Type": stored.doc_type or "unread", "Status": STATUS_LABELS[stored.status]}
                    for stored in documents])
st.dataframe(mix.value_counts().rename("Documents").reset_index(), hide_index=True, width="stretch")
