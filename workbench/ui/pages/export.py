"""Export page: the chosen documents (approved by default) as an Excel workbook or a bookkeeping CSV layout."""

import datetime as dt
import io

import pandas as pd
import streamlit as st

from workbench.duplicates import document_date, document_total, find_duplicates, supplier_name
from workbench.export import PRESETS, AccountMap, ExportError, record_export, write_csv, write_json, write_workbook
from workbench.store import STATUSES, StoredDocument
from workbench.ui import resources, state
from workbench.ui.grid import STATUS_LABELS
from workbench.ui.safe import plain

PRESET_LABELS = {"xero": "Xero bills", "quickbooks": "QuickBooks Online bills", "datev": "DATEV Buchungsstapel"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

settings = resources.settings()
store = resources.store()
user = state.user_name(settings)


def _record(documents: list[StoredDocument], export_format: str, file_name: str) -> None:
    record_export(store, documents, export_format, file_name, user)
    state.flash("success", f"Exported {len(documents)} document{'s' if len(documents) != 1 else ''} as"
                           f" {file_name}; recorded in the audit trail.")


def _preview(documents: list[StoredDocument]) -> pd.DataFrame:
    rows = []
    for stored in documents:
        document = stored.current
        rows.append({
            "ID": stored.id, "File": stored.file_name, "Status": STATUS_LABELS[stored.status],
            "Supplier": supplier_name(document) if document else None,
            "Date": document_date(document) if document else None,
            "Total": float(total) if document and (total := document_total(document)) is not None else None,
            "Currency": document.currency.value if document else None,
        })
    return pd.DataFrame(rows, columns=["ID", "File", "Status", "Supplier", "Date", "Total", "Currency"])


st.title("Export", anchor=False)
state.show_flashes()
statuses = st.multiselect("Documents with status", list(STATUSES), default=["approved"],
                          format_func=STATUS_LABELS.__getitem__,
                          help="Only approved documents are exported unless you choose more here.")
documents = store.list(tuple(statuses)) if statuses else []
stamp = dt.datetime.now().strftime("%Y%m%d-%H%M")

if not documents:
    st.info("No documents with the chosen status. Approve documents on the Review page first.",
            icon=":material/info:")
else:
    st.caption(f"{len(documents)} document{'s' if len(documents) != 1 else ''} will be exported.")
    st.dataframe(_preview(documents), hide_index=True, width="stretch", height=min(38 + 35 * len(documents), 300),
                 column_config={"Total": st.column_config.NumberColumn(format="%.2f")})

excel_column, csv_column = st.columns(2, gap="large")
with excel_column:
    st.subheader("Excel workbook", anchor=False)
    st.caption("Documents, Invoices, Line items and Issues sheets; per-field confidence with low values shaded;"
               " dates as dates and amounts as numbers; duplicates linked.")
    duplicates = find_duplicates(store.list())
    workbook, records = io.BytesIO(), io.BytesIO()
    if documents:
        write_workbook(documents, workbook, settings.review_threshold, duplicates=duplicates)
        write_json(documents, records, duplicates=duplicates)
    xlsx_name, json_name = f"workbench-{stamp}.xlsx", f"workbench-{stamp}.json"
    left, right = st.columns(2)
    left.download_button("Download Excel workbook", data=workbook.getvalue(), file_name=xlsx_name, mime=XLSX,
                         type="primary", icon=":material/download:", disabled=not documents, width="stretch",
                         on_click=_record, args=(documents, "xlsx", xlsx_name), key="download-xlsx")
    right.download_button("Download JSON", data=records.getvalue(), file_name=json_name, mime="application/json",
                          icon=":material/data_object:", disabled=not documents, width="stretch",
                          on_click=_record, args=(documents, "json", json_name), key="download-json")

with csv_column:
    st.subheader("Bookkeeping import", anchor=False)
    preset = st.selectbox("Layout", PRESETS, format_func=PRESET_LABELS.__getitem__)
    csv_name = f"workbench-{preset}-{stamp}.csv"
    data = io.BytesIO()
    problem = None
    if documents:
        try:
            write_csv(preset, documents, data, AccountMap.from_store(store))
        except ExportError as error:
            problem = error.user_message
    if problem:
        st.error(plain(problem), icon=":material/account_balance:")
        st.caption("Set account codes on the Mappings page, or correct the documents on the Review page.")
    st.download_button(f"Download {PRESET_LABELS[preset]} CSV", data=data.getvalue(), file_name=csv_name,
                       mime="text/csv", icon=":material/download:", disabled=not documents or problem is not None,
                       on_click=_record, args=(documents, preset, csv_name), key="download-csv")
