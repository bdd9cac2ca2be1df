"""The receipt extractor's general repairs of OCR slips: legal forms, address rows, dates, lexicon, snapping, names."""

import datetime as dt
from collections import Counter

import pytest

from schemas import PageText, TextLine
from workbench.extract.features import (
    Layout,
    address_candidates,
    clean_address_row,
    date_candidates,
    group_rows,
    confusable,
    merchant_candidates,
    repair_amount_words,
    repair_legal_form,
)
from workbench.extract.ranker import ExtractionModel
from workbench.extract.receipt import analyse, finish_text, join_name_lines
from workbench.extract.receipt_lexicon import KnownMerchants, Lexicon, digit_slip, plausible_snap


def rows_of(texts: list[str], heights: list[float] | None = None):
    lines, y = [], 40.0
    for i, text in enumerate(texts):
        height = heights[i] if heights else 22.0
        lines.append(TextLine(text=text, bbox=(100.0, y, 100.0 + 11 * len(text), y + height), score=0.98))
        y += height + 8
    return group_rows([PageText(number=1, width=700, height=int(y + 40), lines=lines, origin="ocr")])


@pytest.mark.parametrize(("text", "expected"), [
    ("99 SPEED MART 5/8", "99 SPEED MART S/B"),
    ("99 SPEED MART S7B4519537-X)", "99 SPEED MART S/B"),
    ("SKCA HARDWARE & TIMBER SON. BHD.LLT", "SKCA HARDWARE & TIMBER SDN BHD"),
    ("ANN GIAP TRADING SDN BHD SE", "ANN GIAP TRADING SDN BHD"),
    ("First City Parking Sn Bhd", "First City Parking SDN BHD"),
    ("MOONLIGHT CAKE HOUSE SDN BHD 8OZTZ5-U", "MOONLIGHT CAKE HOUSE SDN BHD"),
    ("Muller Backwaren 6mbH", "Muller Backwaren GmbH"),
    ("ACME TOOLS L1D", "ACME TOOLS LTD"),
    ("AEON CO. (M) BHD", "AEON CO. (M) BHD"),
    ("CHECKERS HYPERMARKET SDN BHD (JALAN KLANG LAMA)", "CHECKERS HYPERMARKET SDN BHD (JALAN KLANG LAMA)"),
    ("Le Bistrot du Centre", "Le Bistrot du Centre"),
])
def test_legal_forms_are_spelled_as_printed(text: str, expected: str) -> None:
    assert repair_legal_form(text) == expected


def test_merchant_candidates_carry_repaired_names() -> None:
    rows = rows_of(["THE STORE （MALAYSIA） SDN BHD （8199K）", "FOUR QUARTERS SDN BHD (1U79369-P)",
                    "OWN BY: CHEF LEE SDN BHD"])
    values = {c.value for c in merchant_candidates(rows, Layout.of(rows))}
    assert {"THE STORE (MALAYSIA) SDN BHD", "FOUR QUARTERS SDN BHD", "CHEF LEE SDN BHD"} <= values


@pytest.mark.parametrize(("text", "expected"), [
    ("81750 Johor Bahru, Johor. Tel No.: 07-387 3322", "81750 Johor Bahru, Johor"),
    ("Jalan Kelang Lama 58000 Kuala Lumpur Email : shop@example.com", "Jalan Kelang Lama 58000 Kuala Lumpur"),
    ("GSTID: 001513148416", ""),
    ("TAX INVOICE", ""),
    ("1227039", ""),
    ("COMPANY NO(814198-X)", ""),
    ("LOT 1851-A & 1851-B, JALAN KPB 6,", "LOT 1851-A & 1851-B, JALAN KPB 6"),
    ("HOTEL ROAD 5, 10115 BERLIN", "HOTEL ROAD 5, 10115 BERLIN"),
])
def test_address_rows_keep_only_the_address(text: str, expected: str) -> None:
    assert clean_address_row(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("05-05~18", dt.date(2018, 5, 5)),
    ("05 02-18", dt.date(2018, 2, 5)),
    ("18:1524/05/18", dt.date(2018, 5, 24)),
    ("#19536001/06/2018 6:31", dt.date(2018, 6, 1)),
])
def test_dates_are_read_through_ocr_slips(text: str, expected: dt.date) -> None:
    rows = rows_of([text])
    found = {c.value: c.features["max_repaired"] for c in date_candidates(rows, Layout.of(rows))}
    assert found.get(expected) == 1.0


def test_amounts_do_not_become_dates() -> None:
    rows = rows_of(["TOTAL 2 10.50", "1 2.50 3.00"])
    assert date_candidates(rows, Layout.of(rows)) == []


def test_lexicon_corrects_only_what_ocr_confuses() -> None:
    lexicon = Lexicon(Counter({"WORLD": 2, "LORONG": 40, "JALAN": 90, "MALL": 9, "JLN": 30, "WAN": 30}))
    assert lexicon.correct_word("WORID") == "WORLD"
    assert lexicon.correct_word("MA11") == "MALL"
    assert lexicon.correct_word("J1N") == "JLN"
    assert lexicon.correct_word("JIN") == "JLN"
    assert lexicon.correct_word("BORONG") == "BORONG"
    assert lexicon.correct_word("JALAL") == "JALAL"
    assert lexicon.correct_word("WAH") == "WAH"
    assert lexicon.correct_word("PJU6A") == "PJU6A"
    assert confusable("WORID", "WORLD") and not confusable("BORONG", "LORONG")


def test_known_addresses_replace_readings_of_the_same_branch_only() -> None:
    known = "LOT P.T. 2811, JALAN ANGSA, TAMAN BERKELEY 41150 KLANG, SELANGOR 1320-TMN BATU"
    assert plausible_snap("LOT P.T. 2811, JALAN ANGSA, TANAN BERKELEY 4115O KLANG, SELANGOR 1320-TMN BATU", known)
    assert not plausible_snap("LOT P.T. 2811, JALAN ANGSA, TAMAN BERKELEY 41150 KLANG, SELANGOR 1076-IJOK", known)


@pytest.mark.parametrize(("texts", "expected"), [
    (["LIAN CHI PU TIAN VEGETARIAN", "RESTAURANT SDN BHD", "54, JALAN SS23/11"],
     "LIAN CHI PU TIAN VEGETARIAN RESTAURANT SDN BHD"),
    (["Le Bistrot du", "Centre", "12 rue de la Paix"], "Le Bistrot du Centre"),
])
def test_a_name_printed_over_two_rows_is_joined(texts: list[str], expected: str) -> None:
    rows = rows_of(texts)
    cands = merchant_candidates(rows, Layout.of(rows))
    half = "RESTAURANT SDN BHD" if "RESTAURANT SDN BHD" in texts else "Le Bistrot du"
    for cand in cands:
        cand.score = 0.9 if cand.value == half else 0.1
    assert join_name_lines(cands, Layout.of(rows))
    assert max(cands, key=lambda c: c.score).value == expected


def test_an_address_row_is_not_joined_to_the_name() -> None:
    rows = rows_of(["TAMAN MELATI", "CONFECTIONERY", "TEL 03-1234567"])
    cands = merchant_candidates(rows, Layout.of(rows))
    for cand in cands:
        cand.score = 0.9 if cand.value == "CONFECTIONERY" else 0.1
    assert not join_name_lines(cands, Layout.of(rows))


def test_word_boxes_that_overlap_a_little_share_a_row() -> None:
    lines = [TextLine(text="THE MARCO POLO KITCH", bbox=(454, 398, 869, 444)),
             TextLine(text="INDAH", bbox=(665, 427, 787, 456)),
             TextLine(text="BUKIT", bbox=(551, 427, 678, 461)),
             TextLine(text="GST Reg No: 001403346944", bbox=(532, 463, 790, 496))]
    rows = group_rows([PageText(number=1, width=900, height=600, lines=lines, origin="ocr")])
    assert [r.text for r in rows] == ["THE MARCO POLO KITCH", "BUKIT INDAH", "GST Reg No: 001403346944"]


def test_digit_slips_are_look_alikes_or_a_lost_digit() -> None:
    assert digit_slip("LOT 1851-A & 1351-B", "LOT 1851-A & 1851-B")
    assert digit_slip("No. Jalan Temenggung 19/9", "NO. 2, JALAN TEMENGGUNG 19/9")
    assert not digit_slip("5, JALAN PERMAS 10/5", "NO.1, JALAN PERMAS 10/5")
    assert not digit_slip("JALAN ANGSA 12", "JALAN ANGSA 12")


def _address_choice(reading: list[str], known: str, words: str) -> str:
    rows = rows_of(reading)
    cands = address_candidates(rows, Layout.of(rows), 0)
    whole = ", ".join(reading)
    for cand in cands:
        cand.score = 0.9 if cand.value == whole else 0.01
    lexicon = Lexicon.with_builtins()
    lexicon.add_text(words, weight=3)
    merchants = KnownMerchants()
    merchants.add("SOME SHOP", known)
    return str(finish_text(cands, ExtractionModel({}, merchants, lexicon), "address").value)


def test_a_known_address_replaces_only_a_reading_with_an_ocr_slip() -> None:
    known = "3RD FLR, AEON TAMAN MALURI SC, 55100 KUALA LUMPUR"
    words = "3RD FLR FLOOR AEON TAMAN MALURI SC KUALA LUMPUR"
    # Known words and the same numbers: another spelling of the place, kept as printed.
    assert _address_choice(["3 FLOOR, AEON TAMAN MALURI SC", "55100 KUALA LUMPUR"], known, words) == \
        "3 FLOOR, AEON TAMAN MALURI SC, 55100 KUALA LUMPUR"
    # A word nobody wrote ("TANAN") or a digit read as its look-alike: the known spelling.
    assert _address_choice(["3RD FLR, AEON TANAN MALURI SC", "55100 KUALA LUMPUR"], known, words) == known
    assert _address_choice(["3RD FLR, AEON TAMAN MALURI SC", "55I00 KUALA LUMPUR"], known, words) == known
    assert _address_choice(["3RD FLR, AEON TAMAN MALURI SC", "55108 KUALA LUMPUR"], known, words) == known


def test_readings_split_over_several_row_runs_are_one_choice() -> None:
    rows = rows_of(["12 JALAN ANGSA", "41150 KLANG", "TEL 03-1234567", "TAX INVOICE"])
    cands = address_candidates(rows, Layout.of(rows), 0)
    for cand in cands:
        cand.score = {"12 JALAN ANGSA": 0.4}.get(str(cand.value), 0.0)
    runs = [c for c in cands if c.value == "12 JALAN ANGSA, 41150 KLANG"]
    assert len(runs) >= 2  # with and without the phone row, which is cleaned away
    for cand in runs:
        cand.score = 0.3
    choice = finish_text(cands, ExtractionModel({}, KnownMerchants(), Lexicon.with_builtins()), "address")
    assert choice.value == "12 JALAN ANGSA, 41150 KLANG"
    assert choice.judge_features["p1"] == pytest.approx(0.3 * len(runs))


def test_address_and_name_features_see_the_layout_of_the_header() -> None:
    rows = rows_of(["staff ret", "BERRY'S CAKE HOUSE", "(Co No. 315481-T)", "A-G-06, DATARAN GLOMAC",
                    "JALAN SS6/5A, 47301 PETALING JAYA"])
    layout = Layout.of(rows)
    names = {c.value: c.features for c in merchant_candidates(rows, layout) if c.features["kind"] == 0.0}
    assert names["BERRY'S CAKE HOUSE"]["rows_to_address"] == 2.0
    assert names["BERRY'S CAKE HOUSE"]["rows_to_registration"] == 1.0
    assert names["staff ret"]["rows_to_address"] == 3.0
    addresses = {c.value: c.features for c in address_candidates(rows, layout, 3, "BERRY'S CAKE HOUSE")}
    assert addresses["A-G-06, DATARAN GLOMAC, JALAN SS6/5A, 47301 PETALING JAYA"]["first_number_start"] == 1.0
    assert addresses["JALAN SS6/5A, 47301 PETALING JAYA"]["before_number_start"] == 1.0
    assert addresses["BERRY'S CAKE HOUSE"]["first_name_overlap"] == 1.0


def test_items_confirm_the_total_after_the_discount_not_before() -> None:
    texts = [("Café du Centre", None), ("Café crème", "3,50"), ("Sous-total", "3,50"), ("Réduction", "-0,70"),
             ("Montant TTC", "EUR 2,80"), ("CB", "2,80")]
    lines, y = [], 40.0
    for label, amount in texts:
        lines.append(TextLine(text=label, bbox=(40.0, y, 40.0 + 12 * len(label), y + 24), score=0.99))
        if amount:
            lines.append(TextLine(text=amount, bbox=(600.0, y, 600.0 + 12 * len(amount), y + 24), score=0.99))
        y += 34
    analysis = analyse([PageText(number=1, width=800, height=int(y + 40), lines=lines, origin="ocr")])
    items = {str(c.value): c.features["arith_items"] for c in analysis.candidates["total"]}
    assert items["2.80"] == 1.0
    assert items["3.50"] == 0.0


@pytest.mark.parametrize(("text", "expected"), [
    ("IUIAL (bSI INLL)", "TOTAL (bSI INLL)"),
    ("SUBIUIAL", "SUBTOTAL"),
    ("KUUNDING ADJUSIMENIS", "ROUNDING ADJUSIMENIS"),
    ("Tota1 Sales", "TOTAL Sales"),
    ("Total Sales", "Total Sales"),
    ("Motal", "Motal"),
])
def test_amount_labels_are_read_through_confusable_glyphs(text: str, expected: str) -> None:
    assert repair_amount_words(text) == expected
