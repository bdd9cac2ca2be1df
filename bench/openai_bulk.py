"""Times a bulk read of synthetic receipts through the OpenAI-compatible engine at several concurrencies.

Usage (a server must be running; for the tiny random test model add --text-cap 4, see docs/vllm.md):
    python bench/openai_bulk.py --base-url http://127.0.0.1:8000/v1 --model tiny-qwen3-vl \
        --documents 100 --concurrency 1 8 --text-cap 4 --pixel-budget 16384
Prints, per concurrency, the wall time, documents per second and how many documents failed. With
--import-folder the same documents are written as PNG files and imported with `workbench.batch.import_folder`
into a fresh database (loading, reading, validating, storing page images), as `workbench import` does.
"""

import argparse
import hashlib
import io
import tempfile
import time
from contextlib import closing
from pathlib import Path

from PIL import Image, ImageDraw

from schemas import Page, SourceDocument
from workbench.batch import import_folder
from workbench.config import Settings
from workbench.engines import register
from workbench.engines.openai_compatible import OpenAICompatibleEngine
from workbench.errors import EngineError
from workbench.store import Store


def synthetic_receipt(number: int, salt: str) -> SourceDocument:
    """A small receipt-like page; `salt` makes each run's images new, so no server cache can help."""
    image = Image.new("RGB", (480, 720), "white")
    draw = ImageDraw.Draw(image)
    lines = [f"SHOP {number} {salt}", "Main Street 1", f"2026-11-{1 + number % 28:02d} 12:{number % 60:02d}",
             f"Bread 1 x {number % 9 + 1}.20", f"Milk 2 x {number % 5 + 1}.05", f"TOTAL {number % 50 + 5}.45 EUR"]
    for row, text in enumerate(lines):
        draw.text((30, 40 + row * 60), text, fill="black")
    data = io.BytesIO()
    image.save(data, format="PNG")
    digest = hashlib.sha256(data.getvalue()).hexdigest()
    return SourceDocument(name=f"synthetic-{number:03d}.png", media_type="image/png", content_hash=digest,
                          pages=[Page(number=1, image=image)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--text-cap", type=int, default=None)
    parser.add_argument("--pixel-budget", type=int, default=1280 * 32 * 32)
    parser.add_argument("--max-new-tokens", type=int, default=1024)
    parser.add_argument("--import-folder", action="store_true", help="time workbench.batch.import_folder")
    parser.add_argument("--ocr", action="store_true", help="OCR each page on the client (as the app does)")
    args = parser.parse_args()
    for concurrency in args.concurrency:
        salt = f"c{concurrency}-{time.time_ns()}"
        sources = [synthetic_receipt(number, salt) for number in range(args.documents)]
        settings = Settings(openai_base_url=args.base_url, openai_model=args.model, openai_concurrency=concurrency,
                            vlm_pixel_budget=args.pixel_budget, vlm_max_new_tokens=args.max_new_tokens,
                            openai_timeout_s=600)
        engine = OpenAICompatibleEngine(settings, use_ocr=args.ocr, text_cap=args.text_cap)
        if args.import_folder:
            seconds, errors = _import(sources, settings, args.ocr, args.text_cap)
        else:
            began = time.monotonic()
            outcomes = engine.read_many(sources, "receipt")
            seconds = time.monotonic() - began
            errors = [outcome.user_message for outcome in outcomes if isinstance(outcome, EngineError)]
        print(f"concurrency {concurrency:3d}: {len(sources)} documents in {seconds:7.1f} s = "
              f"{len(sources) / seconds:6.2f} documents/s, {len(errors)} failed", flush=True)
        for error in errors[:3]:
            print(f"  {error[:300]}")


def _import(sources: list[SourceDocument], settings: Settings, ocr: bool,
            text_cap: int | None) -> tuple[float, list[str]]:
    register("openai-bench", lambda bench_settings: OpenAICompatibleEngine(bench_settings, use_ocr=ocr,
                                                                          text_cap=text_cap))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "inbox"
        folder.mkdir()
        for source in sources:
            source.pages[0].image.save(folder / source.name)
        settings = settings.model_copy(update={"db": Path(scratch) / "bench.sqlite"})
        with closing(Store(settings.db)) as store:
            report = import_folder(folder, store, settings, "openai-bench", "receipt")
    return report.seconds, [error for _, error in report.errors]

if __name__ == "__main__":
    main()
