"""Parts of a document that repeat or group: line items, tax lines and parties."""

from pydantic import BaseModel, ConfigDict, Field

from schemas.extracted import Extracted, Source
from schemas.types import Code, LongText, Money, Quantity, Rate, ShortText, UnitPrice


class LineItem(BaseModel):
    """One purchased item: description, quantity, unit price and line amount, read together."""

    model_config = ConfigDict(extra="forbid")

    description: LongText | None = None
    quantity: Quantity | None = None
    unit_price: UnitPrice | None = None
    amount: Money | None = None
    tax_rate: Rate | None = None
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    source: Source | None = None


class TaxLine(BaseModel):
    """Tax at one rate: rate in percent, the base it applies to, and the tax amount."""

    model_config = ConfigDict(extra="forbid")

    rate: Rate | None = None
    base: Money | None = None
    amount: Money | None = None
    category: Code | None = None
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    source: Source | None = None


class Party(BaseModel):
    """A seller or buyer on an invoice."""

    model_config = ConfigDict(extra="forbid")

    name: Extracted[ShortText] = Field(default_factory=Extracted[ShortText])
    address: Extracted[LongText] = Field(default_factory=Extracted[LongText])
    vat_id: Extracted[Code] = Field(default_factory=Extracted[Code])
