"""Extracted[T]: one field's value with its confidence, where on the page it came from, and who read it."""

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

Origin = Literal["ocr", "text", "xml", "vlm", "user", "learned"]
"""ocr: read from pixels; text: a PDF text layer; xml: an embedded e-invoice; vlm: a vision-language
model; user: typed or corrected by a person; learned: filled from what earlier corrections taught."""

BBox = tuple[float, float, float, float]


class Source(BaseModel):
    """Where a value was read: 1-based page, pixel box [x0, y0, x1, y1] on that page's image, the text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    page: int = Field(ge=1, le=10000)
    bbox: BBox | None = None
    text: Annotated[str, StringConstraints(max_length=1000)] | None = None


class Extracted(BaseModel, Generic[T]):
    """A field as read: value (None when not found), confidence in [0, 1], source and origin."""

    model_config = ConfigDict(extra="forbid")

    value: T | None = None
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    source: Source | None = None
    origin: Origin | None = None
