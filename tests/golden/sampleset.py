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
