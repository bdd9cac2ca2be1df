"""Fixtures of the engine tests: a tiny random Qwen3-VL checkpoint built once per test session."""

from pathlib import Path

import pytest

from tests.engines.tiny_qwen import build_tiny_qwen


@pytest.fixture(scope="session")
def tiny_qwen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a tiny random Qwen3-VL (real classes, the real Qwen tokenizer)."""
    return build_tiny_qwen(tmp_path_factory.mktemp("tiny-qwen3-vl"))
