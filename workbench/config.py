"""Settings of the workbench, read from WORKBENCH_* environment variables (pydantic-settings)."""

from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from babel import Locale, UnknownLocaleError
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_db() -> Path:
    return Path(user_data_dir("receipt-workbench", appauthor=False)) / "workbench.sqlite"


class Settings(BaseSettings):
    """Every tunable of the workbench; each field is also an environment variable WORKBENCH_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="WORKBENCH_", extra="ignore")

    db: Path = Field(default_factory=_default_db, description="SQLite database file")
    engine: str = Field(default="ocr", description="engine name: ocr, qwen3-vl or openai")
    user: str = Field(default="local", max_length=100, description="user name written to the audit trail")
    review_threshold: float = Field(default=0.9, ge=0.0, le=1.0, description="below this a field needs review")
    auto_approve: Literal["off", "xml", "confident"] = Field(
        default="xml", description="documents approved at import: none (off), those read from an embedded e-invoice"
                                   " with no issues (xml), or also those whose every field is at or above the review"
                                   " threshold with no issues (confident)")
    locale: str = Field(default="en_US", description="locale for typed-in amounts and dates when the document's"
                                                     " country and currency name none (babel name, e.g. de_DE)")
    fiscal_year_start: int = Field(default=1, ge=1, le=12, description="month the fiscal year starts in (1-12)")
    max_file_mb: float = Field(default=50.0, gt=0, description="largest file accepted, in MB")
    max_pages: int = Field(default=50, ge=1, description="most pages read from one document")
    max_pixels: int = Field(default=60_000_000, ge=1, description="largest image accepted, in pixels")
    render_dpi: int = Field(default=200, ge=72, le=600, description="resolution for rendering scanned PDF pages")
    roots: list[Path] = Field(default_factory=list, description="folders import may read; empty means any")
    ocr_det_side: int = Field(default=960, ge=320, le=4000, description="OCR detector input: longest side, px")
    ocr_rec_batch: int = Field(default=3, ge=1, le=128, description="text lines recognised per OCR batch")
    ocr_threads: int = Field(default=1, ge=1, description="inference threads per OCR worker")
    ocr_backend: Literal["openvino", "onnxruntime"] = Field(
        default="openvino", description="runtime of the OCR models: OpenVINO (bf16 where the CPU has it) or onnxruntime")
    ocr_precision: Literal["auto", "f32", "bf16"] = Field(
        default="auto", description="float precision of the OCR models with OpenVINO: auto (bf16 where the CPU "
                                    "computes it natively, f32 elsewhere), f32, or bf16; onnxruntime computes f32")
    ocr_charset: Literal["latin", "all"] = Field(
        default="latin", description="characters the OCR recogniser may output with OpenVINO: Latin and Greek "
                                     "letters, digits, punctuation and currency signs, or all 18 710 of its model (CJK too)")
    ocr_rec_min_width: int = Field(default=96, ge=48, le=640,
                                   description="narrowest OCR recogniser input, px (short lines are padded to it)")
    workers: int = Field(default=0, ge=0, description="OCR worker processes for bulk import; 0 = one per core")
    vlm_model: str = Field(default="Qwen/Qwen3-VL-2B-Instruct", description="local folder or HF cache repo id")
    vlm_pixel_budget: int = Field(default=1280 * 32 * 32, ge=32 * 32, description="pixels per page sent to a VLM")
    vlm_max_new_tokens: int = Field(default=512, ge=16)
    vlm_batch_size: int = Field(default=8, ge=1)
    openai_base_url: str = Field(default="http://127.0.0.1:8000/v1")
    openai_model: str = Field(default="Qwen/Qwen3-VL-2B-Instruct")
    openai_api_key: str | None = Field(default=None, repr=False)
    openai_timeout_s: float = Field(default=120.0, gt=0)
    openai_concurrency: int = Field(default=8, ge=1, le=256)
    openai_retries: int = Field(default=3, ge=0, le=10)

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        try:
            Locale.parse(value)
        except (ValueError, UnknownLocaleError):
            raise ValueError(f"{value!r} is not a locale babel knows; use a name such as de_DE or en_US") from None
        return value


def load_settings() -> Settings:
    """Settings from the environment, with the database's folder created."""
    settings = Settings()
    settings.db.parent.mkdir(parents=True, exist_ok=True)
    return settings
