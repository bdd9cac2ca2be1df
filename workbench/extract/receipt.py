"""Read a receipt's fields from its text lines: ranked candidates for the key fields, rules for the rest.

The recipe: group the OCR boxes into printed rows; collect candidates for total, date, merchant name and
address (features.py); score them with the trained rankers (ranker.py) and take the best, joining a name
printed over two rows when one row is visibly half of it; correct the merchant name and address with what
the model knows (known merchants of the same branch, a word lexicon of OCR-confusable glyphs); let judge
models rate each chosen value and map their verdict through an isotonic calibration into the confidence.
Arithmetic (subtotal + tax = total, items summing to the total, cash − change) is part of that evidence.
The other fields (phone, tax id, receipt number, time, currency, subtotal, tax, tip, discount, rounding,
payment method, line items) are read by rules in receipt_fields.py.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from schemas import Extracted, PageText, Receipt, Source
from workbench.extract import receipt_fields
from workbench.extract.features import (
    Candidate,
    Layout,
    Row,
    address_candidates,
    amount_candidates,
    continues_name,
    date_candidates,
    group_rows,
    merchant_candidates,
    normalise,
)
from workbench.extract.parsers import guess_day_first
from workbench.extract.ranker import ExtractionModel, load_model
from workbench.extract.receipt_lexicon import KnownMerchants, digit_slip, plausible_snap

RANKED_FIELDS = ("total", "date", "merchant_name", "merchant_address")
SNAP_SIMILARITY = 0.9
"""A merchant name or address reading at least this similar to a known one takes the known spelling."""


@dataclass
class Analysis:
    """What the extractor sees of one receipt before any model is applied."""

    rows: list[Row]
    layout: Layout
    day_first: bool
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)
    rules: receipt_fields.RuleFields | None = None


@dataclass
class Choice:
    """The value chosen for a ranked field, the candidate it came from, and the evidence about it."""

    value: object
    candidate: Candidate | None
    judge_features: dict[str, float]
    confidence: float = 0.0


def analyse(pages: list[PageText]) -> Analysis:
    """Rows, layout, rule-read fields and the model-free candidates of a receipt."""
    rows = group_rows(pages)
    layout = Layout.of(rows)
    rules = receipt_fields.read_rule_fields(rows)
    day_first = guess_day_first([row.text for row in rows], rules.currency_code)
    analysis = Analysis(rows, layout, day_first, rules=rules)
    analysis.candidates["total"] = amount_candidates(rows, layout)
    analysis.candidates["date"] = date_candidates(rows, layout, day_first)
    analysis.candidates["merchant_name"] = merchant_candidates(rows, layout)
    _add_arithmetic(analysis)
    return analysis


def _add_arithmetic(analysis: Analysis) -> None:
    """Mark total candidates that the receipt's own arithmetic confirms."""
    rules = analysis.rules
    adjustments = [a for a in (rules.tax_total, rules.tip, rules.discount, rules.rounding) if a is not None]
    # With the tax added, or already included in the subtotal (as prices with VAT/GST included print it).
    taxes = {rules.tax_total or Decimal(0), Decimal(0)}
    for cand in analysis.candidates["total"]:
        value = cand.value
        cand.features["arith_sub_tax"] = float(
            rules.subtotal is not None and rules.tax_total is not None
            and abs(rules.subtotal + rules.tax_total + (rules.tip or 0) - abs(rules.discount or 0)
                    + (rules.rounding or 0) - value) <= Decimal("0.01")
        )
        cand.features["arith_adjusted"] = float(
            rules.subtotal is not None and bool(adjustments)
            and any(abs(rules.subtotal + tax + (rules.tip or 0) - abs(rules.discount or 0)
                        + (rules.rounding or 0) - value) <= Decimal("0.01") for tax in taxes)
        )
        cand.features["arith_discounted"] = float(
            rules.subtotal is not None and bool(rules.discount)
            and any(abs(rules.subtotal + tax - abs(rules.discount) + (rules.rounding or 0) - value) <= Decimal("0.01")
                    for tax in taxes)
        )
        # Items add up to the total once the receipt's own discount, tip and rounding are applied to their sum
        # (a single item's price is not the total of a receipt that takes a discount off it).
        cand.features["arith_items"] = float(
            bool(rules.items_sum) and abs(rules.items_sum - abs(rules.discount or 0) + (rules.tip or 0)
                                          + (rules.rounding or 0) - value) <= Decimal("0.01")
        )
        cand.features["arith_sub_round"] = float(
            rules.subtotal is not None and rules.rounding is not None
            and abs(rules.subtotal + rules.rounding - value) <= Decimal("0.01")
        )


def add_merchant_features(cands: list[Candidate], merchants: KnownMerchants, kind: str) -> None:
    """Similarity of each candidate to the closest known merchant name or address."""
    for cand in cands:
        _, similarity = merchants.match(str(cand.value), kind)
        cand.features["known_sim"] = similarity


def merchant_end(cand: Candidate | None, rows: list[Row]) -> int:
    """Index (in `rows`) just past the merchant name's rows; 0 when there is none."""
    if cand is None:
        return 0
    return cand.rows[-1].index + 1


def _best(cands: list[Candidate]) -> tuple[Candidate | None, float, float]:
    if not cands:
        return None, 0.0, 0.0
    ordered = sorted(cands, key=lambda c: c.score, reverse=True)
    first = ordered[0]
    second = next((c.score for c in ordered[1:] if normalise(str(c.value)) != normalise(str(first.value))), 0.0)
    return first, first.score, second


def _common_judge(cands: list[Candidate], best: Candidate | None, p1: float, p2: float) -> dict[str, float]:
    return {
        "p1": p1,
        "p2": p2,
        "margin": p1 - p2,
        "n_candidates": float(len(cands)),
        "found": float(best is not None),
    }


def choose_total(analysis: Analysis) -> Choice:
    cands = analysis.candidates["total"]
    best, p1, p2 = _best(cands)
    feats = _common_judge(cands, best, p1, p2)
    if best is not None:
        for key in ("arith_sub_tax", "arith_adjusted", "arith_discounted", "arith_items", "arith_sub_round",
                    "is_cash_minus_change", "count",
                    "max_ctx_kw_total_strong", "max_ocr_score", "is_max", "max_has_currency"):
            feats[key] = best.features.get(key, 0.0)
    return Choice(best.value if best else None, best, feats)


def choose_date(analysis: Analysis) -> Choice:
    cands = analysis.candidates["date"]
    best, p1, p2 = _best(cands)
    feats = _common_judge(cands, best, p1, p2)
    if best is not None:
        for key in ("count", "max_ambiguous", "n_distinct", "min_ocr_score", "max_ctx_kw_date_word", "max_glued"):
            feats[key] = best.features.get(key, 0.0)
    return Choice(best.value if best else None, best, feats)


def join_name_lines(cands: list[Candidate], layout: Layout) -> bool:
    """Prefer the two-row name when the best one-row name is visibly half of it; True when so.

    A row of only trade words and a legal form ("RESTAURANT SDN BHD", "CONFECTIONERY") or one that starts
    with "&" continues the plain name row above it; a row ending in "&", "du", "zur" ... goes on below. The
    two rows must look like one name (`continues_name`).
    """
    if not cands:
        return False
    best = max(cands, key=lambda c: c.score)
    if len(best.rows) != 1 or best.features.get("kind") not in (0.0, 0.25):
        return False
    row = best.rows[0]
    feats = best.features
    pair: tuple[int, int] | None = None
    if feats.get("ends_connector"):
        pair = (row.index, row.index + 1)
    elif feats.get("starts_connector") or feats.get("generic_frac", 0.0) >= 1.0:
        pair = (row.index - 1, row.index)
    if pair is None:
        return False
    joined = next((c for c in cands if c.features.get("kind") == 2.0
                   and (c.rows[0].index, c.rows[-1].index) == pair), None)
    if joined is None or not continues_name(joined.rows[0], joined.rows[1], layout,
                                            dangling=bool(feats.get("ends_connector"))):
        return False
    joined.score = sum(c.score for c in cands if normalise(str(c.value)) == normalise(str(best.value))) + 1e-6
    return True


def _by_text(cands: list[Candidate]) -> list[tuple[Candidate, float]]:
    """One entry per distinct text (normalised), best first: its highest-scored candidate and the summed share
    of all candidates that read so (row spans that differ only by rows cleaned away say the same thing)."""
    groups: dict[str, tuple[Candidate, float]] = {}
    for cand in sorted(cands, key=lambda c: c.score, reverse=True):
        key = normalise(str(cand.value))
        first, total = groups.get(key, (cand, 0.0))
        groups[key] = (first, total + cand.score)
    return sorted(groups.values(), key=lambda g: g[1], reverse=True)


def finish_text(cands: list[Candidate], model: ExtractionModel, kind: str) -> Choice:
    """Choose a merchant name or address and correct its characters with the known merchants and lexicon."""
    groups = _by_text(cands)
    best, p1 = groups[0] if groups else (None, 0.0)
    p2 = groups[1][1] if len(groups) > 1 else 0.0
    feats = _common_judge(cands, best, p1, p2)
    if best is None:
        return Choice(None, None, feats)
    chosen = best
    known, similarity = model.merchants.match(str(best.value), kind)
    for cand, share in groups[1:3]:
        # Only a reading unlike anything known gives way to a runner-up that is known: a reading near a known
        # entry already says which branch (and which rows) it is.
        if similarity >= SNAP_SIMILARITY:
            break
        other, other_sim = model.merchants.match(str(cand.value), kind)
        if other_sim >= SNAP_SIMILARITY and other_sim > similarity + 0.05 and share > 0.3 * p1 \
                and plausible_snap(str(cand.value), other):
            chosen, known, similarity = cand, other, other_sim
    # A known address replaces a reading with a sign of an OCR slip (a word the lexicon does not know, a digit
    # read as its look-alike), not one made of known words and the same numbers: "3 FLOOR" is not a misread
    # "3RD FLR" of the same mall. Names snap on similarity alone (their words are proper names).
    unknown = model.lexicon.unknown_words(str(chosen.value))
    # Numbers are compared on the lexicon-corrected reading: "AEON Ma11" has no number 11 in it.
    corrected, corrections = model.lexicon.correct(str(chosen.value))
    slip = kind == "name" or unknown > 0 or (known is not None and digit_slip(corrected, known))
    snapped = known is not None and similarity >= SNAP_SIMILARITY and plausible_snap(corrected, known) and slip
    value, corrections = (known, 0) if snapped else (corrected, corrections)
    value = value[:200] if kind == "name" else value[:500]
    second_sim, seen = model.merchants.evidence(str(chosen.value), kind)
    feats.update({
        "known_second_sim": second_sim,
        "known_seen": float(seen),
        "known_sim": similarity,
        "snapped": float(snapped),
        "corrections": float(corrections),
        "unknown_words": float(unknown),
        "min_score": min(r.score for r in chosen.rows),
        "n_rows": float(len(chosen.rows)),
        "length": float(len(normalise(value))),
        "switched": float(chosen is not best),
    })
    return Choice(value, chosen, feats)


def rank(analysis: Analysis, model: ExtractionModel) -> dict[str, Choice]:
    """Score every candidate with the model and choose each ranked field's value (no confidence yet)."""
    for name in ("total", "date"):
        cands = analysis.candidates[name]
        for cand, score in zip(cands, model.fields[name].score([c.features for c in cands])):
            cand.score = float(score)
    merchants = analysis.candidates["merchant_name"]
    add_merchant_features(merchants, model.merchants, "name")
    for cand, score in zip(merchants, model.fields["merchant_name"].score([c.features for c in merchants])):
        cand.score = float(score)
    joined = join_name_lines(merchants, analysis.layout)
    name_choice = finish_text(merchants, model, "name")
    name_choice.judge_features["joined"] = float(joined)
    end = merchant_end(name_choice.candidate, analysis.rows)
    analysis.candidates["merchant_address"] = address_candidates(analysis.rows, analysis.layout, end,
                                                                str(name_choice.value or ""))
    addresses = analysis.candidates["merchant_address"]
    add_merchant_features(addresses, model.merchants, "address")
    for cand, score in zip(addresses, model.fields["merchant_address"].score([c.features for c in addresses])):
        cand.score = float(score)
    choices = {
        "total": choose_total(analysis),
        "date": choose_date(analysis),
        "merchant_name": name_choice,
        "merchant_address": finish_text(addresses, model, "address"),
    }
    document = document_features(analysis)
    for choice in choices.values():
        choice.judge_features.update(document)
    return choices


def document_features(analysis: Analysis) -> dict[str, float]:
    """What the judges know of the whole receipt: how well it was read.

    A receipt read with low scores (a blurred photo, an unfamiliar print) is unlike most training receipts:
    these let the judges, and so the confidence, say so. Its size is left out: it tells datasets apart.
    """
    scores = [line.score for row in analysis.rows for line in row.lines]
    return {
        "doc_score_mean": float(sum(scores) / len(scores)) if scores else 0.0,
        "doc_score_low": float(sum(score < 0.8 for score in scores) / len(scores)) if scores else 1.0,
    }


def _extracted(value: object, confidence: float, cand: Candidate | None, origin: str) -> Extracted:
    if value is None:
        return Extracted()
    source = None
    if cand is not None:
        source = Source(page=cand.page, bbox=tuple(round(v, 1) for v in cand.bbox), text=cand.text[:1000])
    return Extracted(value=value, confidence=round(min(max(confidence, 0.0), 1.0), 4), source=source,
                     origin=origin)


def extract_receipt(pages: list[PageText], model: ExtractionModel | None = None) -> Receipt:
    """The receipt's fields, each with a calibrated confidence, its source box and its origin."""
    model = model or load_model()
    origin = pages[0].origin if pages else "ocr"
    analysis = analyse(pages)
    choices = rank(analysis, model)
    for name, choice in choices.items():
        choice.confidence = model.fields[name].confidence(choice.judge_features) if choice.value is not None else 0.0
    receipt = receipt_fields.build_receipt(analysis.rows, analysis.rules, origin, choices["total"].value)
    updates = {name: _extracted(c.value, c.confidence, c.candidate, origin) for name, c in choices.items()}
    return Receipt.model_validate({**receipt.model_dump(), **{k: v.model_dump() for k, v in updates.items()}})
