"""The training-document renderers: e-invoices printed as text-layer PDFs and scans, synthetic receipts that add up."""

import importlib.util
import json
import random
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pdfplumber
import pytest
from babel.numbers import get_group_symbol, parse_decimal

REPO = Path(__file__).resolve().parents[2]
EINVOICES = REPO.parent / "shared" / "data" / "einvoice-xml"
LONG_INVOICE = "kosit-xrechnung__business-cases__standard__02.05a-INVOICE_ubl"
CREDIT_NOTE = "cef-en16931__test__testfiles__BIS_Billing_30-Kreditering_med_kreditnota"
SHORT_INVOICES = ("cef-en16931__cii__examples__CII_business_example_02",
                  "ZUGFeRDv2__correct__Mustangproject__testout-ZF2PushEdge")


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def einvoices() -> ModuleType:
    return _script("render_einvoices")


@pytest.fixture(scope="module")
def receipts() -> ModuleType:
    return _script("render_receipts")


def _label(stem: str) -> dict:
    if not EINVOICES.is_dir():
        pytest.skip("../shared/data/einvoice-xml not present")
    return json.loads((EINVOICES / "labels" / f"{stem}.json").read_text("utf-8"))


def _render(module: ModuleType, stem: str, k: int, scan_share: float, tmp_path: Path):  # type: ignore[no-untyped-def]
    label = _label(stem)
    extras = module.read_extras(EINVOICES / label["xml"])
    pdf, variant = module.render_variant(label, extras, k, seed=5, scan_share=scan_share)
    path = tmp_path / f"{stem}__v{k}.pdf"
    path.write_bytes(pdf)
    return label, variant, path


def _page_texts(path: Path) -> list[str]:
    with pdfplumber.open(path) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


@pytest.mark.parametrize("stem", SHORT_INVOICES)
def test_text_layer_prints_the_number_and_the_total_in_the_variants_locale(einvoices, stem, tmp_path) -> None:
    label, variant, path = _render(einvoices, stem, 0, 0.0, tmp_path)
    text = "\n".join(_page_texts(path))
    fields = label["fields"]
    assert not variant.scan
    assert fields["invoice_number"] in text
    printed = variant.printed["grand_total"]
    assert printed in text
    # the printed string reads back as the label's total only with the variant's own number locale
    group = get_group_symbol(variant.number_locale)  # printed with a plain space where the locale's is narrow
    assert parse_decimal(printed.replace(" ", group), locale=variant.number_locale) == \
        Decimal(fields["totals"]["grand_total"])
    assert variant.printed["issue_date"] in text


def test_variants_differ_in_layout_and_language(einvoices, tmp_path) -> None:
    label = _label(SHORT_INVOICES[0])
    variants = [einvoices.choose_variant(random.Random(k), k, label["fields"], 0.5) for k in range(12)]
    assert len({v.layout for v in variants}) >= 8
    assert len({v.language for v in variants}) >= 4
    assert len({v.date_pattern for v in variants}) >= 4


def test_scan_variant_is_image_only(einvoices, tmp_path) -> None:
    _, variant, path = _render(einvoices, SHORT_INVOICES[1], 1, 1.0, tmp_path)
    assert variant.scan and variant.degradation in ("scan", "fax", "photo")
    with pdfplumber.open(path) as pdf:
        assert all(not (page.extract_text() or "").strip() for page in pdf.pages)
        assert all(page.images for page in pdf.pages)


def test_long_item_list_flows_to_later_pages_with_totals_on_the_last(einvoices, tmp_path) -> None:
    label, variant, path = _render(einvoices, LONG_INVOICE, 0, 0.0, tmp_path)
    texts = _page_texts(path)
    assert variant.pages == len(texts) > 1
    assert variant.printed["grand_total"] in texts[-1]
    assert all(variant.printed["grand_total"] not in page for page in texts[:-1])
    assert all(label["fields"]["invoice_number"] in page for page in texts)


def test_credit_note_prints_negative_amounts(einvoices, tmp_path) -> None:
    label, variant, path = _render(einvoices, CREDIT_NOTE, 0, 0.0, tmp_path)
    assert label["fields"]["type_code"] == "381"
    assert variant.printed["grand_total"].startswith("-")
    assert variant.printed["grand_total"] in "\n".join(_page_texts(path))


def test_render_folder_writes_zugferd_shaped_labels_and_skips_unusable(einvoices, tmp_path, capsys) -> None:
    label = _label(SHORT_INVOICES[0])
    source = tmp_path / "source"
    (source / "labels").mkdir(parents=True)
    (source / "xml").mkdir()
    (source / "xml" / f"{SHORT_INVOICES[0]}.xml").write_bytes((EINVOICES / label["xml"]).read_bytes())
    (source / "labels" / f"{SHORT_INVOICES[0]}.json").write_text(json.dumps(label), "utf-8")
    broken = {**label, "id": "broken", "fields": {**label["fields"], "totals": {"grand_total": None}}}
    (source / "labels" / "broken.json").write_text(json.dumps(broken), "utf-8")
    counts = einvoices.render_folder(source, tmp_path / "out", variants=2, seed=1, scan_share=0.0)
    assert counts["pdfs"] == 2 and counts["skipped"] == 1
    assert "skipped broken: no grand total" in capsys.readouterr().out
    written = json.loads((tmp_path / "out" / "labels" / f"{SHORT_INVOICES[0]}__v1.json").read_text("utf-8"))
    assert written["fields"] == label["fields"]
    assert (tmp_path / "out" / written["pdf"]).is_file() and (tmp_path / "out" / written["embedded_xml"]).is_file()
    assert {"layout", "language", "scan", "pages", "printed", "distractors"} <= set(written["variant"])


def test_read_extras_skips_attachments_and_finds_bank_and_order(einvoices, tmp_path) -> None:
    xml = tmp_path / "a.xml"
    xml.write_text(
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
        'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
        'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
        '<cac:OrderReference><cbc:ID>PO-77</cbc:ID></cac:OrderReference>'
        '<cac:AdditionalDocumentReference><cbc:ID>att</cbc:ID><cac:Attachment>'
        f'<cbc:EmbeddedDocumentBinaryObject mimeCode="application/pdf">{"QUJD" * 200_000}'
        '</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>'
        '<cac:Delivery><cbc:ActualDeliveryDate>2024-03-05</cbc:ActualDeliveryDate></cac:Delivery>'
        '<cac:PaymentMeans><cac:PayeeFinancialAccount><cbc:ID>DE75512108001245126199</cbc:ID>'
        '</cac:PayeeFinancialAccount></cac:PaymentMeans>'
        '<cac:PaymentTerms><cbc:Note>#SKONTO#TAGE=7#PROZENT=2.00#</cbc:Note></cac:PaymentTerms></Invoice>', "utf-8")
    extras = einvoices.read_extras(xml)
    assert (extras.iban, extras.order_reference, str(extras.delivery_date)) == ("DE75512108001245126199", "PO-77",
                                                                               "2024-03-05")
    assert extras.payment_terms is None


@pytest.mark.parametrize("country", ["de", "us", "uk", "fr"])
def test_receipt_rows_add_up_to_what_is_printed(receipts, country, tmp_path) -> None:
    labels = receipts.render_receipts(3, seed=11, out=tmp_path, countries=[country])
    for path in labels:
        label = json.loads(path.read_text("utf-8"))
        e = label["expected"]
        rows = sum(Decimal(item["amount"]) for item in e["line_items"])
        assert rows == Decimal(e["subtotal"] or e["total"])
        taxes = sum(Decimal(t["amount"]) for t in e["tax_lines"])
        assert taxes == Decimal(e["tax_total"])
        if country == "us":
            assert Decimal(e["total"]) == rows + taxes + Decimal(e["tip"] or 0)
        else:
            assert sum(Decimal(t["base"]) + Decimal(t["amount"]) for t in e["tax_lines"]) == Decimal(e["total"])
        for item in e["line_items"]:
            product = Decimal(item["quantity"]) * Decimal(item["unit_price"])
            assert abs(product - Decimal(item["amount"])) <= Decimal("0.005")
        assert parse_decimal(label["printed"]["total"], locale=receipts.BABEL[country]) == Decimal(e["total"])
        assert (tmp_path / "images" / f"{label['id']}.jpg").stat().st_size > 10_000


def test_german_receipts_print_deposits_discounts_and_tax_codes(receipts) -> None:
    kinds, codes = set(), set()
    for i in range(40):
        receipt = receipts.make_receipt(random.Random(i), "de", "de-grocery")
        kinds |= {line.kind for line in receipt.lines}
        codes |= {(t.code, t.rate) for t in receipt.tax_lines}
    assert kinds == {"item", "deposit", "discount"}
    assert {code for code, _ in codes} == {"A", "B"} and {rate for _, rate in codes} == {Decimal(7), Decimal(19)}
