"""Receipts per second of Qwen3-VL (random full-size weights): plain transformers generate vs the workbench engine.

Same script, same machine, same receipt-like images. The baseline is plain `generate` (sdpa, bf16) forced to
`--new` output tokens, as in ../shared/models/baseline_bench.py. The engine is `Qwen3VLEngine.read_many`
(grammar-constrained answers of at most `--new` tokens, parallel preprocessing, the next batch prepared
while the current one decodes), loaded from a saved checkpoint folder through the same code path as real
weights. Prints one line per run and a table last.

On the GPU machine (configs and tokenizer carried in a git-ignored folder, see --assets):
  python3 bench/gpu_qwen3_vl.py --size 2b --baseline 1 64 --engine 64 128 --single

Measured 2026-11-21 on one H100 (torch 2.11, transformers 5.17), receipts/s, 200 tokens at most:
  2B baseline bs1 0.056, bs64 1.98 | engine bs64 3.24, bs128 4.06, bs256 4.51; at 524 288 px bs256 6.83;
     one receipt alone 6.2 s (baseline 18.0 s); --compile (static cache) bs64 1.02 (recompiles per batch)
  4B baseline bs64 1.85 | engine bs64 2.84, bs128 3.07
Decoding is bound by per-step host overhead (about 90 ms a step for plain generate at batch 1 there).
"""

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from schemas import Page, SourceDocument  # noqa: E402
from workbench.config import Settings  # noqa: E402

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt")


def receipts(count: int, seed: int = 0) -> list[Image.Image]:
    """Receipt-like images of varied sizes (600-900 x 1200-1900 pixels), as in baseline_bench.py."""
    rnd = random.Random(seed)
    images = []
    for _ in range(count):
        width, height = rnd.randint(600, 900), rnd.randint(1200, 1900)
        image = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(image)
        for k in range(height // 45):
            draw.text((30, 30 + 40 * k), f"ITEM {k:02d} Widget {k}  {k * 1.25:8.2f}", fill="black")
        images.append(image)
    return images


def build_checkpoint(assets: Path, size: str, folder: Path) -> None:
    """Save a random full-size Qwen3-VL with the real tokenizer and image settings into `folder`."""
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    config = Qwen3VLConfig(**json.loads((assets / f"qwen3-vl-{size}-instruct.config.json").read_text()))
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Qwen3VLForConditionalGeneration._from_config(config, dtype=torch.bfloat16).eval()
    model.save_pretrained(folder)
    del model
    torch.cuda.empty_cache()
    for name in TOKENIZER_FILES:
        shutil.copyfile(assets / "tokenizer" / name, folder / name)
    shutil.copyfile(assets / "qwen3-vl.preprocessor_config.json", folder / "preprocessor_config.json")


def baseline(folder: Path, images: list[Image.Image], batches: list[int], new: int, max_pixels: int) -> list[dict]:
    """Plain generate: the processor on one thread, then generate with a forced output length."""
    from transformers import AutoTokenizer, Qwen2VLImageProcessorPil, Qwen3VLForConditionalGeneration

    from workbench.engines.qwen3_vl import _image_only_processor

    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.padding_side = "left"
    image_processor = Qwen2VLImageProcessorPil(patch_size=16, temporal_patch_size=2, merge_size=2,
                                               image_mean=[0.5] * 3, image_std=[0.5] * 3,
                                               size={"shortest_edge": 65536, "longest_edge": max_pixels})
    processor = _image_only_processor(image_processor, tokenizer)
    model = Qwen3VLForConditionalGeneration.from_pretrained(folder, dtype=torch.bfloat16,
                                                            attn_implementation="sdpa").to("cuda").eval()
    prompt = "Extract merchant, date, currency, subtotal, tax, total and line items of this receipt as JSON."
    text = f"<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{prompt}<|im_end|>\n<|im_start|>assistant\n"

    def inputs(batch: list[Image.Image]) -> dict:
        return processor(text=[text] * len(batch), images=batch, padding=True, return_tensors="pt").to("cuda")

    rows = []
    with torch.inference_mode():
        model.generate(**inputs(images[:1]), max_new_tokens=4, do_sample=False)
        for size in batches:
            torch.cuda.reset_peak_memory_stats()
            torch.cuda.synchronize()
            start = time.perf_counter()
            prepared = inputs(images[:size])
            torch.cuda.synchronize()
            prep = time.perf_counter() - start
            model.generate(**prepared, max_new_tokens=new, min_new_tokens=new, do_sample=False)
            torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            rows.append({"run": "baseline", "batch": size, "docs": size, "seconds": elapsed, "prep_s": prep,
                         "per_s": size / elapsed, "out_tokens": new,
                         "peak_gib": torch.cuda.max_memory_allocated() / 2**30})
            print(rows[-1], flush=True)
    del model
    torch.cuda.empty_cache()
    return rows


def engine_runs(folder: Path, images: list[Image.Image], batches: list[int], new: int, pixel_budgets: list[int],
                single: bool, compile_decoder: bool) -> list[dict]:
    """The workbench engine: read_many over several batches of each size, and one receipt alone."""
    from workbench.engines.qwen3_vl import Qwen3VLEngine

    sources = [SourceDocument(name=f"r{i}.png", media_type="image/png", content_hash=str(i),
                              pages=[Page(number=1, image=image)]) for i, image in enumerate(images)]
    rows = []
    for budget in pixel_budgets:
        settings = Settings(vlm_model=str(folder), vlm_pixel_budget=budget, vlm_max_new_tokens=new,
                            vlm_batch_size=max(batches))
        engine = Qwen3VLEngine(settings, use_ocr=False, compile_decoder=compile_decoder)
        generated: list[int] = []
        original = engine.model.generate

        def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - records the output lengths
            output = original(*args, **kwargs)
            prompt = kwargs["input_ids"].shape[1]
            ends = (output[:, prompt:] == engine._end).int()
            generated.extend((ends.argmax(1) + (ends.sum(1) == 0) * ends.shape[1]).tolist())
            return output

        engine.model.generate = counting
        label = f"engine px={budget}" + (" compiled" if compile_decoder else "")
        engine.read_many(sources[:2], "receipt")
        for size in batches:
            engine._settings = settings.model_copy(update={"vlm_batch_size": size})
            docs = sources[:min(len(sources), 2 * size)]
            generated.clear()
            torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            documents = engine.read_many(docs, "receipt")
            torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            rows.append({"run": label, "batch": size, "docs": len(documents), "seconds": elapsed,
                         "per_s": len(documents) / elapsed, "out_tokens": sum(generated) / len(generated),
                         "peak_gib": torch.cuda.max_memory_allocated() / 2**30})
            print(rows[-1], flush=True)
        if single:
            times = []
            for source in sources[:3]:
                torch.cuda.synchronize()
                start = time.perf_counter()
                engine.read(source, "receipt")
                torch.cuda.synchronize()
                times.append(time.perf_counter() - start)
            rows.append({"run": label + " single", "batch": 1, "docs": 1, "seconds": min(times),
                         "per_s": 1 / min(times), "out_tokens": generated[-1],
                         "peak_gib": torch.cuda.max_memory_allocated() / 2**30})
            print(rows[-1], flush=True)
        del engine
        torch.cuda.empty_cache()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=["2b", "4b"], default="2b")
    parser.add_argument("--assets", type=Path, default=Path(".bench-assets"),
                        help="folder with the two config files, the preprocessor config and tokenizer/")
    parser.add_argument("--new", type=int, default=200, help="output tokens (baseline: forced; engine: at most)")
    parser.add_argument("--max-pixels", type=int, default=1_048_576, help="baseline image pixel cap")
    parser.add_argument("--pixel-budgets", type=int, nargs="+", default=[1_048_576])
    parser.add_argument("--baseline", type=int, nargs="*", default=[1, 64])
    parser.add_argument("--engine", type=int, nargs="*", default=[64, 128])
    parser.add_argument("--single", action="store_true", help="also time one receipt alone")
    parser.add_argument("--compile", action="store_true", help="engine with a static cache (compiled decoder)")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    args = parser.parse_args()

    images = receipts(2 * max(args.baseline + args.engine + [1]))
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        start = time.perf_counter()
        build_checkpoint(args.assets, args.size, folder)
        print(f"checkpoint {args.size} saved in {time.perf_counter() - start:.0f}s on {torch.cuda.get_device_name()}",
              flush=True)
        rows = baseline(folder, images, args.baseline, args.new, args.max_pixels) if args.baseline else []
        rows += engine_runs(folder, images, args.engine, args.new, args.pixel_budgets, args.single, args.compile)
    base = {row["batch"]: row["per_s"] for row in rows if row["run"] == "baseline"}
    print(f"\n{args.size} on {torch.cuda.get_device_name()}")
    print(f"{'run':32} {'batch':>5} {'docs':>5} {'s':>7} {'docs/s':>7} {'out tok':>7} {'peak GiB':>8} {'vs base':>7}  (vs the baseline of the same batch, else its largest)")
    for row in rows:
        reference = row["batch"] if row["batch"] in base else max(base, default=None)
        ratio = row["per_s"] / base[reference] if reference is not None else float("nan")
        print(f"{row['run']:32} {row['batch']:5d} {row['docs']:5d} {row['seconds']:7.2f} {row['per_s']:7.2f} "
              f"{row['out_tokens']:7.0f} {row['peak_gib']:8.1f} {ratio:7.1f}")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
