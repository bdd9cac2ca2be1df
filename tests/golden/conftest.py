"""Fixtures of the golden tests: the real OCR engine, and each sample's result read once per session."""

import pytest

from schemas import DocumentResult
from tests.golden.sampleset import SAMPLES
from workbench.config import Settings
from workbench.engines import Engine, create_engine


@pytest.fixture(scope="session")
def ocr_engine() -> Engine:
    return create_engine("ocr", Settings())


@pytest.fixture(scope="session")
def sample_results(ocr_engine: Engine) -> dict[str, DocumentResult]:
    """Sample name → its DocumentResult, computed on first use (OCR is the slow part)."""
    from workbench.pipeline import process_path

    class Results(dict[str, DocumentResult]):
        def __missing__(self, name: str) -> DocumentResult:
            result, _ = process_path(SAMPLES / name, ocr_engine, Settings(), label=name)
            self[name] = result
            return result

    return Results()
