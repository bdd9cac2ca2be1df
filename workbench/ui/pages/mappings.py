"""Mappings page: account codes per merchant or category, remembered for every later bookkeeping export."""

import pandas as pd
import streamlit as st

from workbench.duplicates import name_key, supplier_name
from workbench.export.accounts import ANY_CATEGORY
from workbench.store import Mapping
from workbench.ui import resources, state
from workbench.ui.safe import plain

CATEGORIES = ("receipt", "invoice", ANY_CATEGORY)
CODES = ["Account code", "Tax code", "Contra account"]

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


st.title("Account mappings", anchor=False)
state.show_flashes()
st.caption("Bookkeeping exports book each document on its merchant's accounts, else on its category's (receipt or"
           " invoice), else on the accounts of `*` (any document). Fill in the codes and save; rows left empty are"
           " not remembered.")
mappings = store.mappings()
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
    if st.form_submit_button("Save mappings", type="primary", icon=":material/save:"):
        count = _save(mappings, edited)
        state.flash("success", f"Saved: {count} mapping{'s' if count != 1 else ''} changed.")
        st.rerun()

if mappings:
    st.caption("Last changes: " + "; ".join(f"{plain(m.key)} by {plain(m.user)} at {m.updated_at}"
                                            for m in sorted(mappings, key=lambda m: m.updated_at)[-3:]))

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
        if st.form_submit_button("Forget", icon=":material/undo:"):
            store.forget_name(key, user)
            state.flash("success", f"Forgot the name learned under {key}.")
            st.rerun()
