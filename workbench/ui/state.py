"""Per-session state of the app: who is working, which document is open, messages carried over a rerun."""

from typing import Literal

import streamlit as st

from workbench.config import Settings

# Headers set by an authenticating reverse proxy (oauth2-proxy, Authelia, Apache/nginx auth modules).
LOGIN_HEADERS = ("X-Forwarded-User", "X-Auth-Request-User", "Remote-User")

SELECTED_KEY = "selected_document"
_FLASH = "flash_messages"

FlashKind = Literal["success", "error", "warning", "info"]


def user_name(settings: Settings) -> str:
    """The name written to the audit trail: the login header of the proxy if any, else the setting."""
    headers = st.context.headers
    for header in LOGIN_HEADERS:
        value = headers.get(header) if headers else None
        if value and value.strip():
            return value.strip()[:100]
    return settings.user


def selected_document() -> int | None:
    """The id of the document open on the review page, or None."""
    value = st.session_state.get(SELECTED_KEY)
    return int(value) if value is not None else None


def select_document(document_id: int | None) -> None:
    """Open this document on the review page."""
    st.session_state[SELECTED_KEY] = document_id


def flash(kind: FlashKind, message: str) -> None:
    """Keep a message (Markdown; pass user text through `safe.plain`) to show after the next rerun."""
    st.session_state.setdefault(_FLASH, []).append((kind, message))


def show_flashes() -> None:
    """Show and forget the kept messages."""
    for kind, message in st.session_state.pop(_FLASH, []):
        {"success": st.success, "error": st.error, "warning": st.warning, "info": st.info}[kind](message)
