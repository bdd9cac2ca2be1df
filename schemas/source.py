"""SourceDocument: a loaded file's pages (image, text layer), embedded e-invoice XML and content hash."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.extracted import BBox


class TextLine(BaseModel):
    """A line (or word) of text on a page with its pixel box and reading score in [0, 1]."""

    model_config = ConfigDict(frozen=True)

    text: str
    bbox: BBox
    score: float = Field(default=1.0, ge=0.0, le=1.0)


class Page(BaseModel):
    """One page: its RGB image (PIL), and the text layer's lines in image pixels when the PDF has one."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    number: int = Field(ge=1)
    image: Any
    text_lines: list[TextLine] | None = None


class SourceDocument(BaseModel):
    """A file as loaded by ingest: what every engine reads from."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    media_type: str
    content_hash: str
    pages: list[Page]
    xml: bytes | None = None
    xml_name: str | None = None


class PageText(BaseModel):
    """The text of one page as extractors see it: lines with boxes, page size, and where it came from."""

    model_config = ConfigDict(frozen=True)

    number: int = Field(ge=1)
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    lines: list[TextLine]
    origin: str = Field(default="ocr", pattern="^(ocr|text)$")
