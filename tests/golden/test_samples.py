"""Each committed sample through `process_path` with the real OCR engine, against golden results.

A result is compared with `tests/golden/results/<sample>.json` on what a person would call a change, under
each OCR configuration (conftest.py): values, document type, origins, issue codes and messages, errors and
which fields are flagged for review exactly; source texts on their letters and digits (an OCR speck or a
space is not a change); boxes within a few
pixels; confidences within CONFIDENCE_TOLERANCE (a field whose golden confidence lies that near the review
threshold may sit on either side of it). OCR scores differ between float precisions and CPUs, so digits
of a confidence are noise, not a change. `WORKBENCH_UPDATE_GOLDEN=1 pytest tests/golden` rewrites the
golden files from the GOLDEN_CONFIG configuration instead (review the diff before committing).
Independently of the golden files, the key fields must equal what the generator printed
(`samples/expected`), so a regression cannot be blessed into a golden file unnoticed.
"""

import json
import os
import re
from decimal import Decimal

import pytest

from schemas import DocumentResult
from tests.golden.sampleset import GOLDEN_CONFIG, RESULTS, expected_of, sample_names
from workbench.config import Settings

UPDATE = os.environ.get("WORKBENCH_UPDATE_GOLDEN") == "1"
CONFIDENCE_TOLERANCE = 0.1
BBOX_TOLERANCE = 6.0
REVIEW_THRESHOLD = Settings().review_threshold

RECEIPT_KEYS = ("total", "date", "currency", "merchant_name")
INVOICE_KEYS = ("grand_total", "issue_date", "currency", "invoice_number", "seller.name")
AMOUNTS = {"total", "grand_total"}

KNOWN_MISSES: dict[tuple[str, str], str] = {}
"""(sample, field) pairs the engine reads wrongly today; strict, so a fix shows up as XPASS."""


def snapshot(result: DocumentResult) -> dict:
    """The result as JSON with confidences and boxes rounded, so golden files diff readably."""
    data = result.model_dump(mode="json")

    def tidy(node: object) -> object:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "confidence" and isinstance(value, float):
                    out[key] = round(value, 3)
                elif key == "bbox" and isinstance(value, list):
                    out[key] = [round(v, 1) for v in value]
                else:
                    out[key] = tidy(value)
            return out
        if isinstance(node, list):
            return [tidy(item) for item in node]
        return node

    return tidy(data)


def _letters_and_digits(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def differences(golden: object, actual: object, path: str = "") -> list[str]:
    """Where `actual` departs from `golden`, beyond the tolerances for confidences, boxes and spacing."""
    if isinstance(golden, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(set(golden) | set(actual)):
            if key not in actual or key not in golden:
                found.append(f"{path}.{key}: only in {'golden' if key in golden else 'result'}")
                continue
            found.extend(differences(golden[key], actual[key], f"{path}.{key}"))
        return found
    if isinstance(golden, list) and isinstance(actual, list):
        if path.endswith(".bbox") and len(golden) == len(actual):
            if all(abs(g - a) <= BBOX_TOLERANCE for g, a in zip(golden, actual, strict=True)):
                return []
            return [f"{path}: {golden} became {actual}"]
        if len(golden) != len(actual):
            return [f"{path}: {len(golden)} entries became {len(actual)}"]
        found = []
        for index, (g, a) in enumerate(zip(golden, actual, strict=True)):
            found.extend(differences(g, a, f"{path}[{index}]"))
        return found
    if path.endswith(".confidence") and isinstance(golden, float | int) and isinstance(actual, float | int):
        return [] if abs(golden - actual) <= CONFIDENCE_TOLERANCE else [f"{path}: {golden} became {actual}"]
    if path.endswith(".source.text") and isinstance(golden, str) and isinstance(actual, str):
        same = _letters_and_digits(golden) == _letters_and_digits(actual)
        return [] if same else [f"{path}: {golden!r} became {actual!r}"]
    return [] if golden == actual else [f"{path}: {golden!r} became {actual!r}"]


def confidences(node: object, path: str = "") -> dict[str, float]:
    """Dotted field path → confidence, for every extracted field with a value."""
    found: dict[str, float] = {}
    if isinstance(node, dict):
        if "confidence" in node and node.get("value") is not None:
            found[path] = float(node["confidence"])
        for key, value in node.items():
            found.update(confidences(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.update(confidences(item, f"{path}[{index}]"))
    return found


def flag_changes(golden: dict, actual: dict) -> list[str]:
    """Fields flagged for review (confidence below the threshold) in one result and not in the other.

    A field whose golden confidence lies within CONFIDENCE_TOLERANCE of the threshold may go either way.
    """
    before, after = confidences(golden.get("document")), confidences(actual.get("document"))
    found = []
    for path in sorted(set(before) & set(after)):
        if abs(before[path] - REVIEW_THRESHOLD) <= CONFIDENCE_TOLERANCE:
            continue
        if (before[path] < REVIEW_THRESHOLD) != (after[path] < REVIEW_THRESHOLD):
            state = "now flagged" if after[path] < REVIEW_THRESHOLD else "no longer flagged"
            found.append(f"{path}: {state} for review ({before[path]} became {after[path]})")
    return found


@pytest.mark.parametrize("name", sample_names())
def test_result_matches_golden(name: str, ocr_config: str, sample_results: dict[str, DocumentResult]) -> None:
    actual = snapshot(sample_results[name])
    golden_path = RESULTS / f"{name}.json"
    if UPDATE:
        if ocr_config != GOLDEN_CONFIG:
            pytest.skip(f"golden files are recorded under {GOLDEN_CONFIG}")
        RESULTS.mkdir(exist_ok=True)
        golden_path.write_text(json.dumps(actual, ensure_ascii=False, indent=1) + "\n", "utf-8")
        pytest.skip(f"rewrote {golden_path.name}; review the diff")
    if not golden_path.exists():
        pytest.fail(f"no golden result {golden_path}: run WORKBENCH_UPDATE_GOLDEN=1 pytest tests/golden and "
                    "review the new file")
    golden = json.loads(golden_path.read_text("utf-8"))
    found = differences(golden, actual) + flag_changes(golden, actual)
    assert not found, f"{name} under {ocr_config} differs from its golden result ({len(found)}):\n" + "\n".join(
        found[:30])


def _key_params() -> list:
    params = []
    for name in sample_names():
        keys = RECEIPT_KEYS if expected_of(name)["doc_type"] == "receipt" else INVOICE_KEYS
        for key in keys:
            marks = []
            if (name, key) in KNOWN_MISSES:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[(name, key)]))
            params.append(pytest.param(name, key, marks=marks, id=f"{name}-{key}"))
    return params


def _lookup(values: dict, dotted: str) -> object:
    for part in dotted.split("."):
        values = values.get(part) if isinstance(values, dict) else None
    return values


def _normalise(key: str, value: object) -> object:
    if value is None:
        return None
    if key in AMOUNTS:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if key.endswith("name") or key == "invoice_number":
        return re.sub(r"[\W_]+", "", str(value).upper())
    return str(value)


@pytest.mark.parametrize(("name", "key"), _key_params())
def test_key_field_equals_what_was_printed(name: str, key: str, sample_results: dict[str, DocumentResult]) -> None:
    result = sample_results[name]
    assert result.error is None, f"{name} could not be read: {result.error}"
    document = result.model_dump(mode="json")["document"]
    field = _lookup(document, key)
    predicted = field.get("value") if isinstance(field, dict) else None
    expected = _lookup(expected_of(name)["document"], key)
    assert _normalise(key, predicted) == _normalise(key, expected), (
        f"{name} {key}: read {predicted!r}, the document says {expected!r}")


@pytest.mark.parametrize("name", sample_names())
def test_document_type_and_route(name: str, sample_results: dict[str, DocumentResult]) -> None:
    result = sample_results[name]
    expected = expected_of(name)
    assert result.error is None, f"{name} could not be read: {result.error}"
    assert result.doc_type == expected["doc_type"]
    if name.startswith("zugferd_"):
        assert result.engine == "xml"
        assert result.document.grand_total.origin == "xml"
        assert result.document.grand_total.confidence == 1.0
    elif name.endswith("_text.pdf"):
        assert result.engine == "ocr"
        assert result.document.grand_total.origin == "text"
    else:
        assert result.engine == "ocr"
    if name.endswith(("_2pages.pdf", "_fax.tiff")):
        assert result.pages == 2
