"""DocumentResult: what reading one file produced — the JSON Lines contract of `workbench extract`."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.invoice import Invoice
from schemas.receipt import Receipt

DocType = Literal["receipt", "invoice"]
Severity = Literal["error", "warning"]


class Issue(BaseModel):
    """A problem found in the data (not a failure): a code, the field it concerns, a readable message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(max_length=64)
    field: str | None = Field(default=None, max_length=64)
    message: str = Field(max_length=500)
    severity: Severity = "warning"


class DocumentResult(BaseModel):
    """One file's outcome: the document read from it, or `error` saying why it could not be read."""

    model_config = ConfigDict(extra="forbid")

    file: str
    doc_type: DocType | None = None
    engine: str
    pages: int = Field(default=0, ge=0)
    document: Receipt | Invoice | None = None
    issues: list[Issue] = Field(default_factory=list)
    error: str | None = None
    content_hash: str | None = Field(default=None, exclude=True)
