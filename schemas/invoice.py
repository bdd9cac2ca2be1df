"""Invoice: the bookkeeping fields of a supplier invoice or credit note, each an Extracted value."""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.extracted import Extracted
from schemas.lines import LineItem, Party, TaxLine
from schemas.types import Code, CurrencyCode, Money

InvoiceKind = Literal["invoice", "credit_note"]


class Invoice(BaseModel):
    """An invoice as the workbench reads it; credit notes carry negative amounts throughout."""

    model_config = ConfigDict(extra="forbid")

    kind: Extracted[InvoiceKind] = Field(default_factory=Extracted[InvoiceKind])
    invoice_number: Extracted[Code] = Field(default_factory=Extracted[Code])
    issue_date: Extracted[dt.date] = Field(default_factory=Extracted[dt.date])
    due_date: Extracted[dt.date] = Field(default_factory=Extracted[dt.date])
    currency: Extracted[CurrencyCode] = Field(default_factory=Extracted[CurrencyCode])
    seller: Party = Field(default_factory=Party)
    buyer: Party = Field(default_factory=Party)
    purchase_order: Extracted[Code] = Field(default_factory=Extracted[Code])
    net_total: Extracted[Money] = Field(default_factory=Extracted[Money])
    tax_total: Extracted[Money] = Field(default_factory=Extracted[Money])
    grand_total: Extracted[Money] = Field(default_factory=Extracted[Money])
    amount_due: Extracted[Money] = Field(default_factory=Extracted[Money])
    tax_lines: list[TaxLine] = Field(default_factory=list, max_length=20)
    iban: Extracted[Code] = Field(default_factory=Extracted[Code])
    line_items: list[LineItem] = Field(default_factory=list, max_length=1000)
