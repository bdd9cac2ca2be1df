"""Import page: drop receipts and invoices, read each with the chosen engine, and see each result as it lands."""

import streamlit as st

from workbench.duplicates import find_duplicates
from workbench.engines import available_engines
from workbench.errors import WorkbenchError
from workbench.ui import resources
from workbench.ui.importing import Outcome, offer_samples, read_files, show_outcome
from workbench.ui.safe import plain

UPLOAD_TYPES = ["jpg", "jpeg", "png", "tif", "tiff", "webp", "bmp", "pdf", "xml"]
LOCAL_VLM_ENGINES = {"qwen3-vl"}
_DONE = "upload_outcomes"


settings = resources.settings()
store = resources.store()

with st.sidebar:
    engines = available_engines()
    engine_name = st.selectbox("Reading engine", engines,
                               index=engines.index(settings.engine) if settings.engine in engines else 0,
                               help="ocr: the embedded OCR reader (fast on a CPU). qwen3-vl: a local vision-language"
                                    " model. openai: an OpenAI-compatible server such as vLLM.")
    doc_type = st.radio("Document type", ["auto", "receipt", "invoice"], horizontal=True,
                        help="auto tells receipts from invoices; XML e-invoices are always read from their XML.")

st.title("Import documents", anchor=False)
st.caption("Receipts and invoices as JPG, PNG, TIFF, WebP, BMP or PDF (multi-page included), or XML e-invoices."
           f" Up to {settings.max_file_mb:g} MB and {settings.max_pages} pages each. Files already imported are"
           " recognised by their content and not read twice.")

if engine_name in LOCAL_VLM_ENGINES and not resources.has_accelerator():
    st.warning("No GPU was found: the vision-language model would run on the CPU and take minutes per page."
               " The ocr engine reads a receipt in about a second.", icon=":material/warning:")

uploads = st.file_uploader("Drop files here", type=UPLOAD_TYPES, accept_multiple_files=True,
                           label_visibility="collapsed")
if not uploads and not store.list():
    offer_samples(store, settings)
done: dict[str, Outcome] = st.session_state.setdefault(_DONE, {})
if uploads:
    for upload in uploads:
        if upload.file_id in done:
            show_outcome(done[upload.file_id])
    waiting = [upload for upload in uploads if upload.file_id not in done]
    if waiting:
        try:
            engine = resources.engine(engine_name)
        except WorkbenchError as error:
            st.error(f"The {engine_name} engine cannot start: {plain(error.user_message)}", icon=":material/error:")
            st.stop()
        outcomes = read_files(((upload.name, upload.getvalue()) for upload in waiting), len(waiting), store, engine,
                              settings, doc_type)
        for upload, outcome in zip(waiting, outcomes, strict=True):
            done[upload.file_id] = outcome
    read = [done[upload.file_id] for upload in uploads if upload.file_id in done]
    failed = sum(outcome.error is not None for outcome in read)
    again = sum(outcome.already_imported for outcome in read)
    found = find_duplicates(store.list())
    for outcome in read:
        for duplicate in found.get(outcome.document_id, []) if not outcome.already_imported else []:
            st.warning(f"**{plain(outcome.file)}** (document #{outcome.document_id}) looks like document"
                       f" #{duplicate.other_id}: {plain(duplicate.reason)}", icon=":material/content_copy:")
    st.caption(f"{len(read) - failed - again} of {len(read)} read; {again} already imported; {failed} could not"
               " be read. Open the Review page to check and approve them.")
