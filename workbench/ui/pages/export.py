"""Export page: the chosen documents (approved, of a period) as an Excel workbook or a bookkeeping CSV layout."""

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import streamlit as st

from workbench.duplicates import document_date, document_total, find_duplicates, supplier_name
from workbench.export import (PRESETS, AccountMap, CsvReport, ExportError, new_export_id, not_yet_booked,
                              record_booking_export, record_export, write_csv, write_json, write_workbook)
from workbench.periods import Period, in_period, period
from workbench.store import STATUSES, StoredDocument
from workbench.ui import resources, state
from workbench.ui.grid import STATUS_LABELS
from workbench.ui.safe import plain

PRESET_LABELS = {"xero": "Xero bills", "quickbooks": "QuickBooks Online bills", "datev": "DATEV Buchungsstapel"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERIODS = {"all": "All dates", "month": "Month", "quarter": "Quarter", "fiscal_year": "Fiscal year",
           "custom": "From … to"}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
REVIEW_PAGE = Path(__file__).with_name("review.py")

settings = resources.settings()
store = resources.store()
user = state.user_name(settings)


def _record(documents: list[StoredDocument], export_format: str, file_name: str) -> None:
    record_export(store, documents, export_format, file_name, user)
    state.flash("success", f"Exported {len(documents)} document{'s' if len(documents) != 1 else ''} as"
                           f" {file_name}; recorded in the audit trail.")


def _record_booking(report: CsvReport, preset: str, file_name: str, export_id: str) -> None:
    record_booking_export(store, report, preset, file_name, user, export_id)
    st.session_state.pop("export-id", None)
    state.flash("success", f"Exported {len(report.written)} document{'s' if len(report.written) != 1 else ''} as"
                           f" {file_name} (export {export_id}); they are marked exported and left out of the next"
                           " bookkeeping export.")


def _period_picker(documents: list[StoredDocument]) -> Period:
    """The period to export: a month, a quarter, a fiscal year (from WORKBENCH_FISCAL_YEAR_START) or any range."""
    years = sorted({d.year for stored in documents if stored.current and (d := document_date(stored.current))},
                   reverse=True) or [dt.date.today().year]
    kind_column, first, second = st.columns([2, 1, 1], vertical_alignment="bottom")
    kind = kind_column.segmented_control("Period", list(PERIODS), format_func=PERIODS.__getitem__, default="all",
                                         key="period-kind") or "all"
    if kind == "all":
        return Period()
    if kind == "custom":
        start = first.date_input("From", value=dt.date(years[0], 1, 1), key="period-from", format="YYYY-MM-DD")
        end = second.date_input("To", value=dt.date(years[0], 12, 31), key="period-to", format="YYYY-MM-DD")
        return Period(start, end)
    year = first.selectbox("Year", years, key="period-year")
    if kind == "month":
        month = second.selectbox("Month", range(1, 13), format_func=lambda m: MONTHS[m - 1], key="period-month")
        return period("month", year, month)
    if kind == "quarter":
        quarter = second.selectbox("Quarter", range(1, 5), format_func=lambda q: f"Q{q}", key="period-quarter")
        return period("quarter", year, quarter)
    return period("fiscal_year", year, fiscal_year_start=settings.fiscal_year_start)


def _open_in_review(document_id: int) -> None:
    state.select_document(document_id)
    st.session_state["open-review"] = True


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


if st.session_state.pop("open-review", False):
    st.switch_page(REVIEW_PAGE)
st.title("Export", anchor=False)
state.show_flashes()
statuses = st.multiselect("Documents with status", list(STATUSES), default=["approved"],
                          format_func=STATUS_LABELS.__getitem__,
                          help="Only approved documents are exported unless you choose more here.")
with_status = store.list(tuple(statuses)) if statuses else []
chosen_period = _period_picker(with_status)
documents = in_period(with_status, chosen_period)
stamp = dt.datetime.now().strftime("%Y%m%d-%H%M")

if not documents:
    st.info(f"No documents with the chosen status dated {chosen_period.label()}. Approve documents on the Review"
            " page first, or choose another period.", icon=":material/info:")
else:
    st.caption(f"{len(documents)} document{'s' if len(documents) != 1 else ''} will be exported.")
    st.dataframe(_preview(documents), hide_index=True, width="stretch", height=min(38 + 35 * len(documents), 300),
                 column_config={"Total": st.column_config.NumberColumn(format="%.2f")})

excel_column, csv_column = st.columns(2, gap="large")
with excel_column:
    st.subheader("Excel workbook", anchor=False)
    st.caption("Documents, Invoices, Line items, Issues and Corrections sheets; per-field confidence with low"
               " values shaded, corrected values marked with who changed them; dates as dates and amounts as"
               " numbers; duplicates linked.")
    duplicates = find_duplicates(store.list())
    workbook, records = io.BytesIO(), io.BytesIO()
    if documents:
        write_workbook(documents, workbook, settings.review_threshold, duplicates=duplicates, audit=store.audit())
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
    include_exported = st.checkbox("Include documents already exported", key="include-exported",
                                   help="A bookkeeping export marks its documents exported; later ones leave them out"
                                        " so nothing is booked twice. Tick this to write them again.")
    to_book = not_yet_booked(documents, include_exported)
    if len(to_book) < len(documents):
        st.caption(f"{len(documents) - len(to_book)} document{'s' if len(documents) - len(to_book) != 1 else ''}"
                   " already exported left out.")
    export_id = st.session_state.setdefault("export-id", new_export_id())
    csv_name = f"workbench-{preset}-{stamp}.csv"
    data = io.BytesIO()
    problem, report = None, CsvReport([], [])
    if to_book:
        try:
            report = write_csv(preset, to_book, data, AccountMap.from_store(store))
        except ExportError as error:
            problem = error.user_message
    if problem:
        st.error(plain(problem), icon=":material/account_balance:")
        st.caption("Set account codes on the Mappings page, or correct the documents on the Review page.")
    if report.left_out:
        st.caption("Left out of this file (the others are written): set account and tax codes on the Mappings"
                   " page, or open the document to correct it.")
    for entry in report.left_out:
        reason, link = st.columns([4, 1], vertical_alignment="center")
        reason.warning(f"Left out: {plain(entry.reason)}", icon=":material/playlist_remove:")
        link.button(f"Open #{entry.document_id}", key=f"open-{entry.document_id}", icon=":material/fact_check:",
                    on_click=_open_in_review, args=(entry.document_id,), help="Open this document on the Review page")
    st.download_button(f"Download {PRESET_LABELS[preset]} CSV ({len(report.written)})", data=data.getvalue(),
                       file_name=csv_name, mime="text/csv", icon=":material/download:",
                       disabled=not report.written or problem is not None,
                       on_click=_record_booking, args=(report, preset, csv_name, export_id), key="download-csv")
