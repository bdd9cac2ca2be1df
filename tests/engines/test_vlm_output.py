"""The shared VLM answer contract: schema bounds, parsing, confidence from token scores, OCR agreement."""

import json
import math
import re

import llguidance
import pytest
from PIL import Image

from schemas import Invoice, PageText, Receipt, TextLine
from workbench.engines import vlm_output
from workbench.errors import EngineError


def _answer(doc_type: str, **values: object) -> str:
    answer = json.loads(vlm_output.skeleton(doc_type))
    answer.update(values)
    return json.dumps(answer, separators=(",", ":"))


@pytest.mark.parametrize("doc_type", ["receipt", "invoice", "auto"])
def test_schema_compiles_for_llguidance_and_bounds_every_string(doc_type: str) -> None:
    schema = vlm_output.output_schema(doc_type)
    grammar = llguidance.LLMatcher.grammar_from_json_schema(schema, defaults={"whitespace_flexible": False})
    assert llguidance.LLMatcher.validate_grammar(grammar) == ""

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string":
                outside_classes = re.sub(r"\[[^\]]*\]", "", node.get("pattern", ""))
                assert "enum" in node or not re.search(r"[*+]|\\d", outside_classes)
            if node.get("type") == "array":
                assert node["maxItems"] <= vlm_output.MAX_LINE_ITEMS
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(schema)


def test_parse_receipt_with_scores_and_ocr() -> None:
    answer = _answer("receipt", merchant="ACME Shop", total="12.50", cur="EUR", date="2024-02-31",
                     items=[{"desc": "Widget", "qty": "2", "price": "6.25", "amt": "12.50"}])
    scores = [vlm_output.TokenScore(answer[i:i + 2].encode(), math.log(0.9), forced=False)
              for i in range(0, len(answer), 2)]
    page = PageText(number=1, width=100, height=100, lines=[
        TextLine(text="ACME SHOP", bbox=(1, 2, 30, 8)), TextLine(text="TOTAL 12,50", bbox=(1, 20, 30, 28))])
    receipt = vlm_output.parse_answer(answer, "receipt", scores, [page])
    assert isinstance(receipt, Receipt)
    assert receipt.merchant_name.value == "ACME Shop"
    assert receipt.merchant_name.source is not None and receipt.merchant_name.source.bbox == (1, 2, 30, 8)
    assert receipt.merchant_name.origin == "vlm"
    assert 0.5 < receipt.total.confidence < 1.0
    assert receipt.currency.confidence <= vlm_output.OCR_MISS_CAP  # "EUR" is not printed on the page
    assert receipt.date.value is None and receipt.date.confidence == 0.0  # 31 February is no date
    assert receipt.line_items[0].amount == receipt.total.value


def test_forced_tokens_do_not_lower_confidence() -> None:
    answer = _answer("receipt", total="9.00")
    start = answer.index('"9.00"')
    scores = [vlm_output.TokenScore(answer[:start].encode(), math.log(0.01), forced=True),
              vlm_output.TokenScore(answer[start:start + 6].encode(), math.log(0.8)),
              vlm_output.TokenScore(answer[start + 6:].encode(), math.log(0.01), forced=True)]
    receipt = vlm_output.parse_answer(answer, "receipt", scores)
    assert receipt.total.confidence == pytest.approx(0.8)


def test_auto_reads_the_tag_and_rejects_broken_answers() -> None:
    invoice = vlm_output.parse_answer(_answer("auto", doc="invoice", kind="credit_note", total="-5.00"), "auto")
    assert isinstance(invoice, Invoice) and invoice.kind.value == "credit_note"
    assert invoice.grand_total.confidence == vlm_output.NO_LOGPROB_CONFIDENCE
    with pytest.raises(EngineError, match="not valid JSON"):
        vlm_output.parse_answer('{"merchant":', "receipt")
    with pytest.raises(EngineError, match="lacks the keys"):
        vlm_output.parse_answer('{"merchant":null}', "receipt")


def test_scale_to_budget() -> None:
    scaled = vlm_output.scale_to_budget(Image.new("RGB", (3024, 4032)), 1280 * 32 * 32)
    assert scaled.width % 32 == 0 and scaled.height % 32 == 0
    assert scaled.width * scaled.height <= 1280 * 32 * 32
    assert scaled.width * scaled.height > 1100 * 32 * 32
