"""Entry point of the workbench app: page setup and navigation over the pages in workbench/ui/pages."""

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent / "workbench" / "ui" / "pages"

st.set_page_config(page_title="Receipt workbench", page_icon=":material/receipt_long:", layout="wide")
page = st.navigation({
    "Work": [
        st.Page(PAGES / "review.py", title="Review", icon=":material/fact_check:", default=True),
        st.Page(PAGES / "upload.py", title="Import", icon=":material/upload_file:"),
        st.Page(PAGES / "export.py", title="Export", icon=":material/download:"),
    ],
    "Overview": [
        st.Page(PAGES / "dashboard.py", title="Dashboard", icon=":material/bar_chart:"),
        st.Page(PAGES / "mappings.py", title="Mappings", icon=":material/account_tree:"),
        st.Page(PAGES / "audit.py", title="Audit trail", icon=":material/history:"),
    ],
})
page.run()
