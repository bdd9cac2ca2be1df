"""Where the committed samples, their expected values and the golden results live, and how to list them."""

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
EXPECTED = SAMPLES / "expected"
RESULTS = Path(__file__).resolve().parent / "results"
OCR_CONFIGS: dict[str, dict[str, str]] = {
    "openvino-bf16": {"ocr_backend": "openvino", "ocr_precision": "bf16"},
    "openvino-f32": {"ocr_backend": "openvino", "ocr_precision": "f32"},
    "onnxruntime": {"ocr_backend": "onnxruntime", "ocr_precision": "auto"},
}
"""The OCR configurations every golden test runs under (keyword arguments of Settings)."""
GOLDEN_CONFIG = "openvino-f32"
"""The configuration `WORKBENCH_UPDATE_GOLDEN=1` records golden results from: f32 computes on every CPU."""


def sample_names() -> list[str]:
    """File names of the committed samples that have expected values."""
    return sorted(path.name.removesuffix(".json") for path in EXPECTED.glob("*.json"))


def expected_of(name: str) -> dict:
    """The generator's record of a sample: doc_type, locale, origin and the `document` values."""
    return json.loads((EXPECTED / f"{name}.json").read_text("utf-8"))


def load_generator() -> ModuleType:
    """samples/generate.py as a module (samples/ is a folder of files, not an installed package)."""
    spec = importlib.util.spec_from_file_location("samples_generate", SAMPLES / "generate.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {SAMPLES / 'generate.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
