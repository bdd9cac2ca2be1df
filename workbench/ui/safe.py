"""Showing user text safely: escaped so that Streamlit's Markdown shows it literally (no links, images, HTML)."""

import re
import string

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")


def plain(text: object) -> str:
    """`text` with every ASCII punctuation mark backslash-escaped, as CommonMark allows, so nothing in it is markup."""
    return _PUNCTUATION.sub(r"\\\1", str(text))
