"""What a vision-language model is asked for and how its JSON answer becomes a Receipt or Invoice.

Shared by every VLM engine (transformers, OpenAI-compatible servers):

- `output_schema(doc_type, text_cap=None) -> dict`: the compact JSON schema of the answer. Short keys, every
  key required and in a fixed order, every value `null` or bounded (strings by a pattern that also forbids
  quotes, backslashes and control characters, so no escapes; digits as `[0-9]`; arrays by `maxItems`). With
  doc_type "auto" the answer starts with `"doc":"receipt"` or `"doc":"invoice"`.
- `skeleton(doc_type) -> str`: the longest all-null answer; its length bounds what closing an answer costs.
- `code_runs() -> list[str]`: regexes of runs of code-value characters, for a grammar engine's mask cache.
- `prompt(doc_type) -> str`: the instruction that names each key (the same text for every document, so a
  server can cache it as a shared prefix; put it before the image).
- `parse_answer(answer, doc_type, token_scores=None, pages=None) -> Receipt | Invoice`: validates the answer
  against the compact schema (EngineError if it does not match), converts each value, and gives each field
  origin "vlm", a confidence and, when OCR text is given, a source box.
- `TokenScore(token: bytes, logprob: float, forced: bool)`: one generated token. A field's confidence is the
  probability of its value's tokens (product of the sampled tokens' probabilities, forced tokens left out);
  without token scores it is `NO_LOGPROB_CONFIDENCE`. A value the page text does not contain is capped at
  `OCR_MISS_CAP`.
- `scale_to_budget(image, pixel_budget, multiple=32) -> Image`: the image shrunk to at most `pixel_budget`
  pixels, each side a multiple of `multiple` (Qwen3-VL: one visual token per 32 x 32 pixels).
"""

import datetime as dt
import json
import math
import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Union, get_args, get_origin

from babel.numbers import list_currencies
from PIL import Image
from pydantic import TypeAdapter, ValidationError

from schemas import Invoice, LineItem, PageText, Party, Receipt, Source, TaxLine, TextLine
from schemas.types import Code, LongText, ShortText
from workbench.errors import EngineError
from workbench.extract.parsers import find_amounts, find_currencies, find_dates, find_times

DocChoice = Literal["receipt", "invoice", "auto"]
Kind = Literal["text", "code", "money", "quantity", "rate", "date", "time", "currency", "invoice_kind"]

OCR_MISS_CAP = 0.5
"""Highest confidence of a value that the page's OCR text does not contain."""
NO_LOGPROB_CONFIDENCE = 0.5
"""Confidence of a value when the model gave no token probabilities."""
MAX_TAX_LINES = 10
MAX_LINE_ITEMS = 60

_TEXT_CHAR = r'[^"\\\x00-\x1f]'
_CODE_CHAR = r"[A-Za-z0-9 ./#:_+()-]"
_PATTERNS: dict[str, str] = {
    "money": r"^-?[0-9]{1,9}\.[0-9]{2}$",
    "quantity": r"^-?[0-9]{1,6}(\.[0-9]{1,4})?$",
    "rate": r"^(100|[0-9]{1,2}(\.[0-9]{1,3})?)$",
    "date": r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
    "time": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
}
_CURRENCIES = sorted(list_currencies())
_INVOICE_KINDS = ["invoice", "credit_note"]


def _max_length(annotation: Any) -> int:
    return int(TypeAdapter(annotation).json_schema()["maxLength"])


@dataclass(frozen=True)
class _Field:
    key: str
    attr: str
    kind: Kind
    max_len: int = 0


_SHORT, _LONG, _CODE = _max_length(ShortText), _max_length(LongText), _max_length(Code)

_TAX_LINE = (
    _Field("rate", "rate", "rate"),
    _Field("base", "base", "money"),
    _Field("amt", "amount", "money"),
)
_LINE_ITEM = (
    _Field("desc", "description", "text", _LONG),
    _Field("qty", "quantity", "quantity"),
    _Field("price", "unit_price", "money"),
    _Field("amt", "amount", "money"),
)
_PARTY = (
    _Field("name", "name", "text", _SHORT),
    _Field("addr", "address", "text", _LONG),
    _Field("vat", "vat_id", "code", _CODE),
)
_RECEIPT = (
    _Field("merchant", "merchant_name", "text", _SHORT),
    _Field("addr", "merchant_address", "text", _LONG),
    _Field("phone", "merchant_phone", "code", _CODE),
    _Field("taxid", "merchant_tax_id", "code", _CODE),
    _Field("no", "receipt_number", "code", _CODE),
    _Field("date", "date", "date"),
    _Field("time", "time", "time"),
    _Field("cur", "currency", "currency"),
    _Field("subtotal", "subtotal", "money"),
    _Field("tax", "tax_total", "money"),
    _Field("tip", "tip", "money"),
    _Field("disc", "discount", "money"),
    _Field("round", "rounding", "money"),
    _Field("total", "total", "money"),
    _Field("pay", "payment_method", "text", _SHORT),
)
_INVOICE = (
    _Field("kind", "kind", "invoice_kind"),
    _Field("no", "invoice_number", "code", _CODE),
    _Field("date", "issue_date", "date"),
    _Field("due", "due_date", "date"),
    _Field("cur", "currency", "currency"),
    _Field("po", "purchase_order", "code", _CODE),
    _Field("net", "net_total", "money"),
    _Field("tax", "tax_total", "money"),
    _Field("total", "grand_total", "money"),
    _Field("payable", "amount_due", "money"),
    _Field("iban", "iban", "code", _CODE),
)

_DESCRIPTIONS: dict[str, str] = {
    "merchant": "shop name", "addr": "address", "phone": "phone number", "taxid": "shop's tax/VAT/GST id",
    "no": "document number", "date": "date YYYY-MM-DD", "time": "time HH:MM (24 h)",
    "cur": "ISO 4217 currency code", "subtotal": "amount before tax", "tax": "total tax", "tip": "tip",
    "disc": "discount", "round": "rounding", "total": "total paid", "pay": "payment method",
    "kind": "invoice or credit_note", "due": "due date YYYY-MM-DD", "po": "purchase order number",
    "net": "net total", "payable": "amount due", "iban": "seller's IBAN",
    "seller": "seller {name,addr,vat}", "buyer": "buyer {name,addr,vat}",
    "taxes": "tax lines [{rate (percent), base, amt}]", "items": "line items [{desc, qty, price, amt}]",
}


def _value_schema(field: _Field, text_cap: int | None) -> dict[str, Any]:
    if field.kind in ("text", "code"):
        length = field.max_len if text_cap is None else min(field.max_len, text_cap)
        char = _TEXT_CHAR if field.kind == "text" else _CODE_CHAR
        first = char[:-1] + " ]" if char.startswith("[^") else char.replace(" ", "")
        value: dict[str, Any] = {"type": "string", "pattern": f"^{first}{char}{{0,{length - 1}}}$"}
    elif field.kind == "currency":
        value = {"type": "string", "enum": _CURRENCIES}
    elif field.kind == "invoice_kind":
        value = {"type": "string", "enum": _INVOICE_KINDS}
    else:
        value = {"type": "string", "pattern": _PATTERNS[field.kind]}
    return {"anyOf": [value, {"type": "null"}]}


def _object(fields: Sequence[_Field], text_cap: int | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {field.key: _value_schema(field, text_cap) for field in fields}
    properties.update(extra or {})
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


def _array(fields: Sequence[_Field], text_cap: int | None, max_items: int) -> dict[str, Any]:
    return {"type": "array", "items": _object(fields, text_cap), "maxItems": max_items}


def _doc_schema(doc_type: Literal["receipt", "invoice"], text_cap: int | None, tagged: bool) -> dict[str, Any]:
    head = {"doc": {"const": doc_type}} if tagged else {}
    if doc_type == "receipt":
        body = _object(_RECEIPT, text_cap, {"taxes": _array(_TAX_LINE, text_cap, MAX_TAX_LINES),
                                             "items": _array(_LINE_ITEM, text_cap, MAX_LINE_ITEMS)})
    else:
        body = _object(_INVOICE, text_cap, {"seller": _object(_PARTY, text_cap), "buyer": _object(_PARTY, text_cap),
                                             "taxes": _array(_TAX_LINE, text_cap, MAX_TAX_LINES),
                                             "items": _array(_LINE_ITEM, text_cap, MAX_LINE_ITEMS)})
    body["properties"] = head | body["properties"]
    body["required"] = list(body["properties"])
    return body


def output_schema(doc_type: DocChoice, text_cap: int | None = None) -> dict[str, Any]:
    """The JSON schema a model's answer must follow; `text_cap` lowers every text bound to at most that."""
    if text_cap is not None and text_cap < 1:
        raise ValueError("text_cap must be at least 1")
    if doc_type == "auto":
        return {"anyOf": [_doc_schema("receipt", text_cap, True), _doc_schema("invoice", text_cap, True)]}
    return _doc_schema(doc_type, text_cap, False)


def code_runs() -> list[str]:
    """Regexes of runs of code-value characters: a grammar engine can precompute their token sets (llguidance's
    "slices"), which makes the token mask inside a code value cheap."""
    return [f"{_CODE_CHAR}{{1,{length}}}" for length in (4, 10, 30)]


def skeleton(doc_type: DocChoice) -> str:
    """The longest answer with every value null and every list empty, in the answer's compact form."""
    if doc_type == "auto":
        return max((_skeleton(kind, True) for kind in ("receipt", "invoice")), key=len)
    return _skeleton(doc_type, False)


def _skeleton(doc_type: Literal["receipt", "invoice"], tagged: bool) -> str:
    def nulls(fields: Sequence[_Field]) -> dict[str, None]:
        return {field.key: None for field in fields}

    head: dict[str, Any] = {"doc": doc_type} if tagged else {}
    if doc_type == "receipt":
        body: dict[str, Any] = head | nulls(_RECEIPT) | {"taxes": [], "items": []}
    else:
        body = head | nulls(_INVOICE) | {"seller": nulls(_PARTY), "buyer": nulls(_PARTY), "taxes": [], "items": []}
    return json.dumps(body, separators=(",", ":"))


def prompt(doc_type: DocChoice) -> str:
    """The instruction for one document: which keys to fill and in which formats."""
    kinds = {"receipt": [_RECEIPT], "invoice": [_INVOICE], "auto": [_RECEIPT, _INVOICE]}[doc_type]
    keys = [field.key for fields in kinds for field in fields]
    if doc_type != "receipt":
        keys += ["seller", "buyer"]
    keys += ["taxes", "items"]
    seen: dict[str, str] = {}
    for key in keys:
        seen.setdefault(key, _DESCRIPTIONS[key])
    what = {"receipt": "this receipt", "invoice": "this invoice", "auto": "this receipt or invoice"}[doc_type]
    lines = [f"Read {what} and answer with one compact JSON object."]
    if doc_type == "auto":
        lines.append('First "doc": "receipt" or "invoice".')
    lines.append("Keys: " + "; ".join(f"{key} = {text}" for key, text in seen.items()) + ".")
    lines.append("Amounts as strings with two decimals (\"12.50\", negative for refunds). Copy text as printed. "
                 "Use null for anything not on the document; never guess.")
    return "\n".join(lines)


@dataclass(frozen=True)
class TokenScore:
    """One generated token: its bytes, the log-probability of choosing it, and whether a grammar forced it."""

    token: bytes
    logprob: float
    forced: bool = False


@dataclass(frozen=True)
class _Spanned:
    """A parsed JSON value with its character span [start, end) in the answer."""

    value: Any
    start: int
    end: int


_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_DECODER = json.JSONDecoder()


def _parse_spanned(text: str) -> _Spanned:
    """Parse JSON keeping the span of every value (objects → dict of _Spanned, arrays → list of _Spanned)."""

    def skip(pos: int) -> int:
        match = _WS.match(text, pos)
        return match.end() if match else pos

    def value(pos: int) -> _Spanned:
        pos = skip(pos)
        if pos >= len(text):
            raise ValueError("unexpected end of the answer")
        char = text[pos]
        if char == "{":
            start, items = pos, {}
            pos = skip(pos + 1)
            if text.startswith("}", pos):
                return _Spanned(items, start, pos + 1)
            while True:
                key = value(pos)
                if not isinstance(key.value, str):
                    raise ValueError(f"object key expected at {key.start}")
                pos = skip(key.end)
                if not text.startswith(":", pos):
                    raise ValueError(f"':' expected at {pos}")
                item = value(pos + 1)
                items[key.value] = item
                pos = skip(item.end)
                if text.startswith(",", pos):
                    pos += 1
                elif text.startswith("}", pos):
                    return _Spanned(items, start, pos + 1)
                else:
                    raise ValueError(f"',' or '}}' expected at {pos}")
        if char == "[":
            start, elements = pos, []
            pos = skip(pos + 1)
            if text.startswith("]", pos):
                return _Spanned(elements, start, pos + 1)
            while True:
                element = value(pos)
                elements.append(element)
                pos = skip(element.end)
                if text.startswith(",", pos):
                    pos += 1
                elif text.startswith("]", pos):
                    return _Spanned(elements, start, pos + 1)
                else:
                    raise ValueError(f"',' or ']' expected at {pos}")
        if char == '"':
            string, end = json.decoder.scanstring(text, pos + 1)
            return _Spanned(string, pos, end)
        for literal, result in (("null", None), ("true", True), ("false", False)):
            if text.startswith(literal, pos):
                return _Spanned(result, pos, pos + len(literal))
        match = _NUMBER.match(text, pos)
        if match:
            return _Spanned(Decimal(match.group()), pos, match.end())
        raise ValueError(f"unexpected character {char!r} at {pos}")

    parsed = value(0)
    if skip(parsed.end) != len(text):
        raise ValueError(f"extra text after the JSON value at {parsed.end}")
    return parsed


class _Scorer:
    """Confidence of a character span from the probabilities of the tokens that produced it."""

    def __init__(self, answer: str, token_scores: Sequence[TokenScore] | None) -> None:
        self._scores = token_scores
        if token_scores is None:
            return
        joined = b"".join(score.token for score in token_scores)
        encoded = answer.encode("utf-8")
        if joined.strip() != encoded.strip():
            raise EngineError("the token scores do not spell the model's answer; cannot score its fields")
        self._lead = len(joined) - len(joined.lstrip())
        self._char_to_byte = [0]
        for char in answer.lstrip():
            self._char_to_byte.append(self._char_to_byte[-1] + len(char.encode("utf-8")))
        self._answer_lead = len(answer) - len(answer.lstrip())
        self._ends: list[int] = []
        position = 0
        for score in token_scores:
            position += len(score.token)
            self._ends.append(position)

    def confidence(self, start: int, end: int) -> float:
        if self._scores is None:
            return NO_LOGPROB_CONFIDENCE
        begin = self._byte(start)
        stop = self._byte(end)
        total = 0.0
        previous_end = 0
        for score, token_end in zip(self._scores, self._ends, strict=True):
            token_start = previous_end
            previous_end = token_end
            if token_end <= begin or token_start >= stop or score.forced:
                continue
            total += min(score.logprob, 0.0)
        return min(max(math.exp(total), 0.0), 1.0)

    def _byte(self, char_index: int) -> int:
        index = min(max(char_index - self._answer_lead, 0), len(self._char_to_byte) - 1)
        return self._lead + self._char_to_byte[index]


class _PageIndex:
    """OCR lines of a document's pages, for checking that a value is printed and finding where."""

    def __init__(self, pages: Sequence[PageText]) -> None:
        self.pages = [page for page in pages if page.lines]

    def locate(self, kind: Kind, value: Any) -> tuple[bool, Source | None]:
        """(whether the pages contain `value`, the source of the best matching line)."""
        if not self.pages or kind == "invoice_kind":
            return True, None
        for page in self.pages:
            for line in page.lines:
                if _line_has(kind, value, line.text):
                    return True, _source(page.number, [line])
        for page in self.pages:
            if kind in ("text", "code"):
                lines = _lines_inside(_fold(str(value)), page.lines)
                if lines:
                    return True, _source(page.number, lines)
        return False, None


def _fold(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalnum())


def _line_has(kind: Kind, value: Any, text: str) -> bool:
    if kind in ("text", "code"):
        folded = _fold(str(value))
        return bool(folded) and folded in _fold(text)
    if kind in ("money", "quantity", "rate"):
        target = abs(Decimal(value))
        return any(abs(amount) == target for amount, _ in find_amounts(text, require_cents=False))
    if kind == "date":
        return any(found == value for day_first in (True, False) for found, _ in find_dates(text, day_first))
    if kind == "time":
        return any(found[:5] == str(value)[:5] for found, _ in find_times(text))
    if kind == "currency":
        return any(code == value for code, _ in find_currencies(text))
    return True


def _lines_inside(folded_value: str, lines: Sequence[TextLine]) -> list[TextLine]:
    """Consecutive lines whose text together spells the value (an address over several lines)."""
    if not folded_value:
        return []
    for first in range(len(lines)):
        joined = ""
        for last in range(first, len(lines)):
            joined += _fold(lines[last].text)
            if not folded_value.startswith(joined):
                break
            if joined == folded_value:
                return list(lines[first:last + 1])
    return []


def _source(page: int, lines: Sequence[TextLine]) -> Source:
    box = (min(line.bbox[0] for line in lines), min(line.bbox[1] for line in lines),
           max(line.bbox[2] for line in lines), max(line.bbox[3] for line in lines))
    return Source(page=page, bbox=box, text=" ".join(line.text for line in lines)[:1000])


def _convert(kind: Kind, raw: Any) -> Any:
    """The typed value of a raw answer value, or None when it is not a valid value of its kind."""
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        return None
    try:
        if kind in ("money", "quantity", "rate"):
            return Decimal(text)
        if kind == "date":
            return dt.date.fromisoformat(text)
    except (InvalidOperation, ValueError):
        return None
    return text


class _Reader:
    """Turns the spanned answer into schema objects, one Extracted value at a time."""

    def __init__(self, scorer: _Scorer, index: _PageIndex) -> None:
        self.scorer, self.index = scorer, index

    def extracted(self, field: _Field, node: _Spanned, annotation: Any) -> dict[str, Any]:
        value = _convert(field.kind, node.value)
        confidence = self.scorer.confidence(node.start, node.end)
        source = None
        if value is not None:
            try:
                value = TypeAdapter(annotation).validate_python(value)
            except ValidationError:
                value = None
        if value is None and node.value is not None:
            confidence = 0.0
        if value is not None:
            found, source = self.index.locate(field.kind, value)
            if not found:
                confidence = min(confidence, OCR_MISS_CAP)
        return {"value": value, "confidence": confidence, "source": source, "origin": "vlm"}

    def fields(self, fields: Sequence[_Field], node: _Spanned, model: type) -> dict[str, dict[str, Any]]:
        items = _expect_object(node, [field.key for field in fields], strict=False)
        result = {}
        for field in fields:
            annotation = model.model_fields[field.attr].annotation.model_fields["value"].annotation
            result[field.attr] = self.extracted(field, items[field.key], _without_none(annotation))
        return result

    def rows(self, fields: Sequence[_Field], node: _Spanned, model: type[LineItem] | type[TaxLine],
             max_items: int) -> list[Any]:
        if not isinstance(node.value, list) or len(node.value) > max_items:
            raise EngineError(f"the model's answer has a malformed list at character {node.start}")
        rows = []
        for element in node.value:
            items = _expect_object(element, [field.key for field in fields], strict=True)
            values: dict[str, Any] = {}
            confidences, sources = [], []
            for field in fields:
                annotation = _without_none(model.model_fields[field.attr].annotation)
                extracted = self.extracted(field, items[field.key], annotation)
                values[field.attr] = extracted["value"]
                if extracted["value"] is not None:
                    confidences.append(extracted["confidence"])
                    sources.append(extracted["source"])
            if all(value is None for value in values.values()):
                continue
            source = next((found for found in sources if found is not None), None)
            rows.append(model(**values, confidence=min(confidences), source=source))
        return rows


def _without_none(annotation: Any) -> Any:
    """`X` from `X | None` (the type a value must have when it is present)."""
    if get_origin(annotation) in (Union, types.UnionType):
        arguments = [argument for argument in get_args(annotation) if argument is not type(None)]
        if len(arguments) == 1:
            return arguments[0]
    return annotation


def _expect_object(node: _Spanned, keys: Sequence[str], strict: bool) -> dict[str, _Spanned]:
    if not isinstance(node.value, dict):
        raise EngineError(f"the model's answer has no JSON object at character {node.start}")
    missing = [key for key in keys if key not in node.value]
    if missing:
        raise EngineError(f"the model's answer lacks the keys {', '.join(missing)}")
    if strict:
        extra = sorted(set(node.value) - set(keys))
        if extra:
            raise EngineError(f"the model's answer has unknown keys {', '.join(extra)}")
    return node.value


def parse_answer(answer: str, doc_type: DocChoice, token_scores: Sequence[TokenScore] | None = None,
                 pages: Sequence[PageText] | None = None) -> Receipt | Invoice:
    """The Receipt or Invoice in a model's JSON answer; EngineError when the answer does not fit the schema."""
    try:
        root = _parse_spanned(answer)
    except ValueError as error:
        raise EngineError(f"the model's answer is not valid JSON ({error}): {answer[:200]!r}") from None
    if not isinstance(root.value, dict):
        raise EngineError(f"the model's answer is not a JSON object: {answer[:200]!r}")
    kind = doc_type
    if doc_type == "auto":
        tag = root.value.get("doc")
        if tag is None or tag.value not in ("receipt", "invoice"):
            raise EngineError('the model\'s answer does not say "doc": "receipt" or "invoice"')
        kind = tag.value
    try:
        return _read(root, kind, doc_type == "auto", _Reader(_Scorer(answer, token_scores), _PageIndex(pages or [])))
    except ValidationError as error:
        raise EngineError(f"the model's answer does not fit the {kind} schema: {error}") from None


def _read(root: _Spanned, kind: str, tagged: bool, reader: _Reader) -> Receipt | Invoice:
    expected = ["doc"] if tagged else []
    if kind == "receipt":
        expected += [field.key for field in _RECEIPT] + ["taxes", "items"]
        items = _expect_object(root, expected, strict=True)
        return Receipt(**reader.fields(_RECEIPT, root, Receipt),
                       tax_lines=reader.rows(_TAX_LINE, items["taxes"], TaxLine, MAX_TAX_LINES),
                       line_items=reader.rows(_LINE_ITEM, items["items"], LineItem, MAX_LINE_ITEMS))
    expected += [field.key for field in _INVOICE] + ["seller", "buyer", "taxes", "items"]
    items = _expect_object(root, expected, strict=True)
    parties = {side: Party(**reader.fields(_PARTY, items[side], Party)) for side in ("seller", "buyer")}
    return Invoice(**reader.fields(_INVOICE, root, Invoice), **parties,
                   tax_lines=reader.rows(_TAX_LINE, items["taxes"], TaxLine, MAX_TAX_LINES),
                   line_items=reader.rows(_LINE_ITEM, items["items"], LineItem, MAX_LINE_ITEMS))


def scale_to_budget(image: Image.Image, pixel_budget: int, multiple: int = 32) -> Image.Image:
    """The RGB image resized so that width x height <= pixel_budget and each side is a multiple of `multiple`."""
    if pixel_budget < multiple * multiple:
        raise ValueError(f"pixel budget {pixel_budget} is below one {multiple}x{multiple} tile")
    width, height = image.size
    scale = min(1.0, math.sqrt(pixel_budget / (width * height)))
    new_width = max(multiple, int(width * scale) // multiple * multiple)
    new_height = max(multiple, int(height * scale) // multiple * multiple)
    while new_width * new_height > pixel_budget:
        if new_width >= new_height:
            new_width -= multiple
        else:
            new_height -= multiple
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    if (new_width, new_height) == rgb.size:
        return rgb
    return rgb.resize((new_width, new_height), Image.Resampling.BICUBIC)
