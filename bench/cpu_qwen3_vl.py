"""Latency of one receipt through the Qwen3-VL engine on the CPU, with random full-size 2B weights.

Builds the checkpoint once (bf16, about 4.3 GB) into --folder, then times `Qwen3VLEngine.read` on one
receipt-like image at the given pixel budget and the smallest token budget the engine accepts.
  python bench/cpu_qwen3_vl.py --folder /tmp/qwen3-vl-2b-random --pixel-budget 1048576
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.gpu_qwen3_vl import receipts  # noqa: E402
from schemas import Page, SourceDocument  # noqa: E402
from tests.engines.tiny_qwen import PREPROCESSOR_CONFIG, TOKENIZER_FILES, qwen_tokenizer_folder  # noqa: E402
from workbench.config import Settings  # noqa: E402

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--pixel-budget", type=int, default=1_048_576)
    parser.add_argument("--new", type=int, default=176, help="token budget (the engine needs at least ~160)")
    parser.add_argument("--dtype", default="bfloat16")
    args = parser.parse_args()
    if not (args.folder / "config.json").is_file():
        from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

        config = Qwen3VLConfig(**json.loads((MODELS / "qwen3-vl-2b-instruct.config.json").read_text()))
        torch.manual_seed(0)
        model = Qwen3VLForConditionalGeneration._from_config(config, dtype=getattr(torch, args.dtype))
        model.save_pretrained(args.folder)
        del model
        for name in TOKENIZER_FILES:
            shutil.copyfile(qwen_tokenizer_folder() / name, args.folder / name)
        (args.folder / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR_CONFIG))
    from workbench.engines.qwen3_vl import Qwen3VLEngine

    settings = Settings(vlm_model=str(args.folder), vlm_pixel_budget=args.pixel_budget, vlm_max_new_tokens=args.new)
    start = time.perf_counter()
    engine = Qwen3VLEngine(settings, use_ocr=False, device="cpu", dtype=args.dtype)
    print(f"load {time.perf_counter() - start:.1f}s, torch threads {torch.get_num_threads()}", flush=True)
    image = receipts(1)[0]
    source = SourceDocument(name="r.png", media_type="image/png", content_hash="r", pages=[Page(number=1, image=image)])
    start = time.perf_counter()
    engine.read(source, "receipt")
    print(f"one 2B receipt on the CPU: {time.perf_counter() - start:.1f}s (image {image.size}, "
          f"pixel budget {args.pixel_budget}, at most {args.new} output tokens, {args.dtype})", flush=True)


if __name__ == "__main__":
    main()
