"""Text made safe for spreadsheets: values a spreadsheet would run as a formula are marked as plain text."""

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make Excel, LibreOffice or Sheets read a cell as a formula (OWASP CSV injection)."""


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet would treat `text` as a formula."""
    return text.startswith(FORMULA_STARTS)


def clean(text: str) -> str:
    """`text` without the control characters an .xlsx file cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def csv_text(text: str | None) -> str:
    """A text field for CSV: formula-like text gets a leading apostrophe so it stays text when opened."""
    if text is None:
        return ""
    return "'" + text if is_formula_like(text) else text
