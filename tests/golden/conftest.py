"""Fixtures of the golden tests: the real OCR engine in each OCR configuration, and each sample's result.

The samples are read under three OCR configurations — OpenVINO in bf16, OpenVINO in f32 and onnxruntime
(f32, other kernels) — because OCR scores, and now and then a space, differ between them and between CPUs;
the golden comparison must hold for all three. OpenVINO bf16 is skipped on CPUs that do not compute bf16.
"""

import pytest

from schemas import DocumentResult
from tests.golden.sampleset import OCR_CONFIGS, SAMPLES
from workbench.config import Settings
from workbench.engines import Engine, create_engine
from workbench.errors import ConfigError


@pytest.fixture(scope="session", params=sorted(OCR_CONFIGS))
def ocr_config(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def ocr_settings(ocr_config: str) -> Settings:
    return Settings(**OCR_CONFIGS[ocr_config])


@pytest.fixture(scope="session")
def ocr_engine(ocr_config: str, ocr_settings: Settings) -> Engine:
    try:
        return create_engine("ocr", ocr_settings)
    except ConfigError as error:
        pytest.skip(f"OCR configuration {ocr_config} is not available here: {error.user_message}")


@pytest.fixture(scope="session")
def sample_results(ocr_engine: Engine, ocr_settings: Settings) -> dict[str, DocumentResult]:
    """Sample name → its DocumentResult under one OCR configuration, computed on first use."""
    from workbench.pipeline import process_path

    class Results(dict[str, DocumentResult]):
        def __missing__(self, name: str) -> DocumentResult:
            result, _ = process_path(SAMPLES / name, ocr_engine, ocr_settings, label=name)
            self[name] = result
            return result

    return Results()
