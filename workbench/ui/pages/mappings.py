"""Mappings page: account codes per merchant or category and tax codes per rate, for every bookkeeping export."""

from decimal import Decimal, InvalidOperation

import pandas as pd
import streamlit as st

from workbench.duplicates import name_key, supplier_name
from workbench.export import PRESETS, rate_key
from workbench.export.accounts import ANY_CATEGORY
from workbench.store import Mapping
from workbench.ui import resources, state
from workbench.ui.safe import plain

CATEGORIES = ("receipt", "invoice", ANY_CATEGORY)
CODES = ["Account code", "Tax code", "Contra account"]
RATE_HINTS = {"datev": "BU-Schlüssel, e.g. 9 for 19 % Vorsteuer", "xero": "tax rate name, e.g. 20% (VAT on Expenses)",
              "quickbooks": "tax code, e.g. 19.0% ECG"}

settings = resources.settings()
store = resources.store()
user = state.user_name(settings)


def _frame(mappings: list[Mapping], merchants: list[str]) -> pd.DataFrame:
    rows = [{"Kind": m.kind, "Merchant or category": m.key, "Account code": m.account_code, "Tax code": m.tax_code,
             "Contra account": m.contra_account} for m in mappings]
    known = {(m.kind, name_key(m.key) if m.kind == "merchant" else m.key) for m in mappings}
    for category in CATEGORIES:
        if ("category", category) not in known:
            rows.append({"Kind": "category", "Merchant or category": category})
    for merchant in merchants:
        if ("merchant", name_key(merchant)) not in known:
            known.add(("merchant", name_key(merchant)))
            rows.append({"Kind": "merchant", "Merchant or category": merchant})
    # Text dtype even when a column is still empty, so the editor offers text cells.
    return pd.DataFrame(rows, columns=["Kind", "Merchant or category", *CODES]).astype("string")


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return str(value).strip() or None


def _save(before: list[Mapping], edited: pd.DataFrame) -> int:
    """Store changed rows, forget rows whose codes were all cleared; returns how many mappings changed."""
    old = {(m.kind, m.key): (m.account_code, m.tax_code, m.contra_account) for m in before}
    changed = 0
    seen = set()
    for row in edited.to_dict("records"):
        kind, key = _text(row["Kind"]), _text(row["Merchant or category"])
        if kind not in ("merchant", "category") or key is None:
            continue
        codes = tuple(_text(row[column]) for column in CODES)
        seen.add((kind, key))
        if not any(codes):
            if (kind, key) in old:
                store.delete_mapping(kind, key, user)
                changed += 1
            continue
        if old.get((kind, key)) != codes:
            store.set_mapping(kind, key, user, account_code=codes[0], tax_code=codes[1], contra_account=codes[2])
            changed += 1
    for kind, key in old.keys() - seen:
        store.delete_mapping(kind, key, user)
        changed += 1
    return changed


def _rate_frame(mappings: list[Mapping]) -> pd.DataFrame:
    rows = []
    for m in mappings:
        layout, _, rate = m.key.partition(":")
        rows.append({"Layout": layout, "Rate %": rate, "Tax code": m.tax_code})
    return pd.DataFrame(rows, columns=["Layout", "Rate %", "Tax code"]).astype("string")


def _save_rates(before: list[Mapping], edited: pd.DataFrame) -> int:
    """Store the tax code of each (layout, rate) row, forget removed rows; returns how many changed."""
    old = {m.key: m.tax_code for m in before}
    seen, changed = set(), 0
    for row in edited.to_dict("records"):
        layout, rate, code = _text(row["Layout"]), _text(row["Rate %"]), _text(row["Tax code"])
        if layout not in PRESETS or rate is None:
            continue
        try:
            key = rate_key(layout, Decimal(rate.replace(",", ".")))
        except InvalidOperation:
            state.flash("error", f"{plain(rate)} is not a tax rate in percent; that row was not saved.")
            continue
        seen.add(key)
        if code is None:
            continue
        if old.get(key) != code:
            store.set_mapping("rate", key, user, account_code=None, tax_code=code)
            changed += 1
    for key in old.keys() - seen:
        store.delete_mapping("rate", key, user)
        changed += 1
    return changed


st.title("Account mappings", anchor=False)
state.show_flashes()
st.caption("Bookkeeping exports book each document on its merchant's accounts, else on its category's (receipt or"
           " invoice), else on the accounts of `*` (any document). Fill in the codes and save; rows left empty are"
           " not remembered.")
every = store.mappings()
mappings = [m for m in every if m.kind != "rate"]
rates = [m for m in every if m.kind == "rate"]
merchants = sorted({name for stored in store.list() if stored.current is not None
                    and (name := supplier_name(stored.current))})
frame = _frame(mappings, merchants)
with st.form("mappings", border=False):
    edited = st.data_editor(
        frame, hide_index=True, num_rows="dynamic", width="stretch", key="mappings-editor", placeholder="",
        column_config={
            "Kind": st.column_config.SelectboxColumn("Kind", options=["merchant", "category"], required=True,
                                                     width="small"),
            "Merchant or category": st.column_config.TextColumn(width="large", required=True, max_chars=200),
            "Account code": st.column_config.TextColumn(help="Expense account (Xero AccountCode, QuickBooks"
                                                             " account, DATEV Konto)", max_chars=64),
            "Tax code": st.column_config.TextColumn(help="Xero TaxType, QuickBooks tax code, DATEV BU-Schlüssel",
                                                    max_chars=64),
            "Contra account": st.column_config.TextColumn(help="DATEV Gegenkonto: the creditor or cash account",
                                                          max_chars=64),
        },
    )
    if st.form_submit_button("Save mappings", type="primary", icon=":material/save:", key="save-mappings"):
        count = _save(mappings, edited)
        state.flash("success", f"Saved: {count} mapping{'s' if count != 1 else ''} changed.")
        st.rerun()

if mappings:
    st.caption("Last changes: " + "; ".join(f"{plain(m.key)} by {plain(m.user)} at {m.updated_at}"
                                            for m in sorted(mappings, key=lambda m: m.updated_at)[-3:]))

st.subheader("Tax codes per rate", anchor=False)
st.caption("A document with tax at several rates is booked in one line per rate, each with its rate's tax code in"
           " the layout. DATEV uses BU-Schlüssel 9 (19 %) and 8 (7 %) where no row here says otherwise; a merchant's"
           " or category's tax code applies only to documents with one rate.")
with st.form("rates", border=False):
    edited_rates = st.data_editor(
        _rate_frame(rates), hide_index=True, num_rows="dynamic", width="stretch", key="rates-editor",
        placeholder="",
        column_config={
            "Layout": st.column_config.SelectboxColumn("Layout", options=list(PRESETS), required=True, width="small"),
            "Rate %": st.column_config.TextColumn("Rate %", required=True, width="small", max_chars=8),
            "Tax code": st.column_config.TextColumn("Tax code", max_chars=64, help="; ".join(
                f"{layout}: {hint}" for layout, hint in RATE_HINTS.items())),
        },
    )
    if st.form_submit_button("Save tax codes", icon=":material/save:", key="save-rates"):
        count = _save_rates(rates, edited_rates)
        state.flash("success", f"Saved: {count} tax code{'s' if count != 1 else ''} changed.")
        st.rerun()

st.subheader("Learned merchant names", anchor=False)
st.caption("When you correct a receipt's merchant name, later receipts with the same phone number, tax id or"
           " header text get the corrected name (origin \"learned\"), with a confidence earned by how often it"
           " was confirmed. Forget an entry to undo what a correction taught.")
learned = store.learned_names()
if not learned:
    st.info("Nothing learned yet: correct a merchant name on the Review page.")
else:
    st.dataframe(pd.DataFrame([{"Recognised by": fact.key, "Merchant name": fact.name, "Confirmed": fact.confirmed,
                                "Contradicted": fact.contradicted, "By": fact.user, "When": fact.updated_at}
                               for fact in learned]), hide_index=True, width="stretch")
    with st.form("forget-name", border=False):
        key = st.selectbox("Entry to forget", [fact.key for fact in learned])
        if st.form_submit_button("Forget", icon=":material/undo:", key="forget"):
            store.forget_name(key, user)
            state.flash("success", f"Forgot the name learned under {key}.")
            st.rerun()
