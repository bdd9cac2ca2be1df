"""Receipt: the bookkeeping fields of a till receipt, each an Extracted value."""

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from schemas.extracted import Extracted
from schemas.lines import LineItem, TaxLine
from schemas.types import Code, CurrencyCode, LongText, Money, ShortText, TimeText


class Receipt(BaseModel):
    """A receipt as the workbench reads it; `model_json_schema()` is the JSON contract."""

    model_config = ConfigDict(extra="forbid")

    merchant_name: Extracted[ShortText] = Field(default_factory=Extracted[ShortText])
    merchant_address: Extracted[LongText] = Field(default_factory=Extracted[LongText])
    merchant_phone: Extracted[Code] = Field(default_factory=Extracted[Code])
    merchant_tax_id: Extracted[Code] = Field(default_factory=Extracted[Code])
    receipt_number: Extracted[Code] = Field(default_factory=Extracted[Code])
    date: Extracted[dt.date] = Field(default_factory=Extracted[dt.date])
    time: Extracted[TimeText] = Field(default_factory=Extracted[TimeText])
    currency: Extracted[CurrencyCode] = Field(default_factory=Extracted[CurrencyCode])
    subtotal: Extracted[Money] = Field(default_factory=Extracted[Money])
    tax_total: Extracted[Money] = Field(default_factory=Extracted[Money])
    tax_lines: list[TaxLine] = Field(default_factory=list, max_length=20)
    tip: Extracted[Money] = Field(default_factory=Extracted[Money])
    discount: Extracted[Money] = Field(default_factory=Extracted[Money])
    rounding: Extracted[Money] = Field(default_factory=Extracted[Money])
    total: Extracted[Money] = Field(default_factory=Extracted[Money])
    payment_method: Extracted[ShortText] = Field(default_factory=Extracted[ShortText])
    line_items: list[LineItem] = Field(default_factory=list, max_length=500)
