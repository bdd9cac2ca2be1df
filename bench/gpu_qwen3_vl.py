"""Receipts per second of Qwen3-VL (random full-size weights): plain transformers generate vs the workbench engine.

Same script, same machine, same receipt-like images. The baseline is plain `generate` (sdpa, bf16) forced to
`--new` output tokens, as in ../shared/models/baseline_bench.py. The engine is `Qwen3VLEngine.read_many`
(grammar-constrained answers of at most `--new` tokens; its own decode loop: chunked prefill, static KV
buffers, the decode step a CUDA graph whose attention reads only each row's filled cache columns (a Triton
kernel), grammar masks on the CPU while the GPU steps), loaded from a saved checkpoint folder through the same
code path as real weights. Each engine size reads two batches after one warm-up batch of that size. Prints one
line per run (with seconds in prefill, in decode, the grammar's CPU time and the graph step alone, timed over
the cache columns of the batch's last step), whether a batch of 8 equals 8 single reads, and a table last.
`--attention 256 1` first times the decode attention alone (Triton kernel vs SDPA with a column mask) at those
batch sizes; `--profile 64` prints the top GPU operations of one engine batch of 64.

On the GPU machine (configs, tokenizer and wheels carried in the git-ignored .bench-assets, see --assets):
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .bench-assets/whl/*.whl
  PYTHONPATH=/tmp/site python3 bench/gpu_qwen3_vl.py --size 2b --attention 256 1 --baseline 1 64 \
      --engine 64 128 256 --single
  PYTHONPATH=/tmp/site python3 bench/gpu_qwen3_vl.py --size 4b --attention 128 --baseline 64 --engine 64 128 --single
  PYTHONPATH=/tmp/site python3 bench/gpu_qwen3_vl.py --size 2b --baseline 64 --engine 256 512 --single   (H200)
  PYTHONPATH=/tmp/site python3 bench/gpu_qwen3_vl.py --size 2b --baseline --engine 8 --single --engine-dtype float32

Measured 2026-11-21 (torch 2.11, transformers 5.17, triton 3.6), receipts/s at 1 048 576 px and at most 200
output tokens (about 155-160 used), ratio to the baseline of the same run:
  one H100, 2B: baseline bs1 0.053, bs64 2.08 | engine bs64 15.3, bs128 17.5, bs256 20.2 (9.7x, 58 GiB peak);
     one receipt alone 0.99 s (baseline 18.9 s). bs256, two batches: prefill 15.3 s, decode 7.7 s (graph step
     20.3 ms, grammar CPU 2.8 s beside it). Decode attention alone at bs256 (prompts of 1000-1300 tokens):
     Triton 0.48 ms a layer (2.6 TB/s of filled columns) vs SDPA with a mask 0.63 ms; at bs1 0.11 vs 0.08 ms.
  one H100, 4B: baseline bs64 1.70 | engine bs64 11.3, bs128 13.9 (8.2x, 49 GiB); one receipt 1.36 s
  one H200, 2B: baseline bs64 2.53 | engine bs256 21.8 (8.6x, 58 GiB), bs512 23.9 (9.4x, 103 GiB); one
     receipt 0.97 s
Before (same day, SDPA with a mask over all buffer columns, all grammar matchers copied from one template):
H100 2B bs256 18.6 (prefill 14.5 s, decode 10.8 s), 4B bs128 12.7, H200 2B bs256 18.4; this H100 ran the
baseline 15% slower than the one measured then (bs64 2.08 vs 2.42), so compare ratios across runs. Matchers
copied from one template share its lexer cache behind one lock: in a random walk of 256 rows on the H100's 16
cores the masks took 39 ms a step from one template, 18 ms from 4, 12 ms from 16 (the decode had waited on them).
A batch of 8 equals 8 single reads in float32 on the GPU (8 of 8, `--engine-dtype float32`); in bf16 none of 8
random-weight answers matched, since random weights leave near-ties that the batch shape's rounding flips.
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


def _image_only_processor(image_processor: object, tokenizer: object) -> object:
    """A Qwen3VLProcessor without its video processor, which would need torchvision."""
    from transformers import Qwen3VLProcessor

    class ImageOnlyProcessor(Qwen3VLProcessor):
        def __init__(self, image_processor: object = None, tokenizer: object = None, **kwargs: object) -> None:
            super().__init__(image_processor=image_processor, tokenizer=tokenizer, video_processor=None, **kwargs)

    return ImageOnlyProcessor(image_processor=image_processor, tokenizer=tokenizer)


def baseline(folder: Path, images: list[Image.Image], batches: list[int], new: int, max_pixels: int) -> list[dict]:
    """Plain generate: the processor on one thread, then generate with a forced output length."""
    from transformers import AutoTokenizer, Qwen2VLImageProcessorPil, Qwen3VLForConditionalGeneration

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


def profile(folder: Path, images: list[Image.Image], new: int, pixel_budget: int, batch: int) -> None:
    """Print the GPU operations that take the most time in one engine batch of `batch` receipts."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiler

    from workbench.engines.qwen3_vl import Qwen3VLEngine

    sources = [SourceDocument(name=f"r{i}.png", media_type="image/png", content_hash=str(i),
                              pages=[Page(number=1, image=image)]) for i, image in enumerate(images[:batch])]
    engine = Qwen3VLEngine(Settings(vlm_model=str(folder), vlm_pixel_budget=pixel_budget, vlm_max_new_tokens=new,
                                    vlm_batch_size=batch), use_ocr=False)
    engine.read_many(sources, "receipt")
    with profiler(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as trace:
        engine.read_many(sources, "receipt")
        torch.cuda.synchronize()
    print(trace.key_averages().table(sort_by="cuda_time_total", row_limit=30, max_name_column_width=70), flush=True)


def engine_runs(folder: Path, images: list[Image.Image], batches: list[int], new: int, pixel_budgets: list[int],
                single: bool, dtype: str | None = None) -> list[dict]:
    """The workbench engine: read_many over two batches of each size, one receipt alone, batch = one by one."""
    from workbench.engines.qwen3_vl import Qwen3VLEngine

    sources = [SourceDocument(name=f"r{i}.png", media_type="image/png", content_hash=str(i),
                              pages=[Page(number=1, image=image)]) for i, image in enumerate(images)]
    rows = []
    for budget in pixel_budgets:
        settings = Settings(vlm_model=str(folder), vlm_pixel_budget=budget, vlm_max_new_tokens=new,
                            vlm_batch_size=max(batches, default=1))
        engine = Qwen3VLEngine(settings, use_ocr=False, dtype=dtype)
        spent = _timed(engine._decoder)
        label = f"engine px={budget}" + (f" {dtype}" if dtype else "")
        engine.read_many(sources[:2], "receipt")
        for size in batches:
            engine._settings = settings.model_copy(update={"vlm_batch_size": size})
            docs = sources[:min(len(sources), 2 * size)]
            engine.read_many(docs[:size], "receipt")  # captures this batch shape's decode graph
            spent.clear()
            torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            documents = engine.read_many(docs, "receipt")
            torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            rows.append({"run": label, "batch": size, "docs": len(documents), "seconds": elapsed,
                         "per_s": len(documents) / elapsed, **spent.summary(), "step_ms": _step_ms(engine._decoder),
                         "peak_gib": torch.cuda.max_memory_allocated() / 2**30})
            print(rows[-1], flush=True)
        if single:
            times = []
            for source in sources[:3]:
                spent.clear()
                torch.cuda.synchronize()
                start = time.perf_counter()
                engine.read(source, "receipt")
                torch.cuda.synchronize()
                times.append(time.perf_counter() - start)
            rows.append({"run": label + " single", "batch": 1, "docs": 1, "seconds": min(times),
                         "per_s": 1 / min(times), **spent.summary(),
                         "peak_gib": torch.cuda.max_memory_allocated() / 2**30})
            print(rows[-1], flush=True)
            alone = [engine.read(source, "receipt").model_dump(mode="json") for source in sources[:8]]
            engine._settings = settings.model_copy(update={"vlm_batch_size": 8})
            together = [document.model_dump(mode="json") for document in engine.read_many(sources[:8], "receipt")]
            same = sum(_values(one) == _values(many) for one, many in zip(alone, together, strict=True))
            print(f"{label}: batch of 8 equals one by one for {same} of 8 receipts", flush=True)
        del engine
        torch.cuda.empty_cache()
    return rows


def _step_ms(decoder: object) -> float:
    """Milliseconds of one decode step's forward pass alone (the captured graph, at the last batch's shape, over
    the cache columns that batch's last step read: its attention reads only filled columns)."""
    buffers = decoder._buffers
    with torch.inference_mode():
        last = buffers.column.clone()
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(20):
            buffers.column.copy_(last)
            decoder._step(buffers)
        torch.cuda.synchronize()
    return round((time.perf_counter() - start) / 20 * 1000, 2)


def attention_check(assets: Path, size: str, rows: int) -> None:
    """Time the decode attention over a cache of one bs`rows` decode step (prompts of 1000-1300 tokens, right-
    aligned, 60 tokens decoded, 1536 columns): the Triton kernel vs SDPA with a column mask, and their gap."""
    from workbench.engines.qwen3_vl_attention import decode_attention

    text = json.loads((assets / f"qwen3-vl-{size}-instruct.config.json").read_text())["text_config"]
    heads, kv_heads, dim = text["num_attention_heads"], text["num_key_value_heads"], text["head_dim"]
    length, prompt = 1536, 1300
    generator = torch.Generator(device="cuda").manual_seed(0)
    starts = prompt - torch.randint(1000, 1301, (rows,), device="cuda", generator=generator)
    column = torch.tensor([prompt + 60], device="cuda")
    filled = (torch.arange(length, device="cuda") >= starts[:, None]) & (torch.arange(length, device="cuda") <= column)
    for dtype in (torch.bfloat16, torch.float32):
        query = torch.randn((rows, kv_heads, heads // kv_heads, dim), device="cuda", dtype=dtype, generator=generator)
        keys, values = (torch.randn((rows, kv_heads, length, dim), device="cuda", dtype=dtype, generator=generator)
                        for _ in range(2))
        runs = {"sdpa masked": lambda: torch.nn.functional.scaled_dot_product_attention(  # noqa: B023
                    query, keys, values, attn_mask=filled[:, None, None], scale=dim ** -0.5),  # noqa: B023
                "triton": lambda: decode_attention(query, keys, values, starts, column, dim ** -0.5)}  # noqa: B023
        results, times = {}, {}
        for name, run in runs.items():
            results[name] = run()
            torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(20):
                run()
            torch.cuda.synchronize()
            times[name] = (time.perf_counter() - start) / 20 * 1000
        read = sum(int(value) for value in (column + 1 - starts).tolist()) * kv_heads * dim * 2 * keys.element_size()
        gap = (results["triton"].float() - results["sdpa masked"].float()).abs().max().item()
        print(f"decode attention {size} bs{rows} {str(dtype)[6:]}: " + ", ".join(
            f"{name} {ms:.3f} ms" for name, ms in times.items())
            + f"; filled columns read at {read / times['triton'] / 1e6:.0f} GB/s by triton; largest gap {gap:.2e}",
            flush=True)


class _Spent:
    """Seconds spent in prefill, decode and the grammar's CPU work, and the answers' token counts."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.prefill = self.decode = self.forced = self.masks = self.consume = 0.0
        self.tokens: list[int] = []

    def summary(self) -> dict:
        return {"out_tokens": sum(self.tokens) / max(1, len(self.tokens)), "prefill_s": round(self.prefill, 2),
                "decode_s": round(self.decode - self.prefill, 2), "grammar_cpu_s": round(self.forced + self.masks
                                                                                         + self.consume, 2),
                "masks_s": round(self.masks, 2), "forced_s": round(self.forced, 2), "consume_s": round(self.consume, 2)}


def _timed(decoder: object) -> _Spent:
    """Wrap the engine's decoder (and its grammar rows) with timers."""
    from workbench.engines import qwen3_vl_decode

    spent = _Spent()

    def timer(function, name: str, sync: bool):  # noqa: ANN001, ANN202
        def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            if sync:
                torch.cuda.synchronize()
            start = time.perf_counter()
            result = function(*args, **kwargs)
            if sync:
                torch.cuda.synchronize()
            setattr(spent, name, getattr(spent, name) + time.perf_counter() - start)
            if name == "decode":
                spent.tokens.extend(len(answer.tokens) + 1 for answer in result)
            return result
        return wrapped

    decoder.decode = timer(decoder.decode, "decode", True)
    decoder._prefill = timer(decoder._prefill, "prefill", True)
    rows = qwen3_vl_decode._GrammarRows
    rows.force = timer(rows.force, "forced", False)
    rows.masks = timer(rows.masks, "masks", False)
    rows.consume = timer(rows.consume, "consume", False)
    return spent


def _values(document: dict) -> object:
    """A document without its confidences (bf16 numerics move probabilities slightly with the batch shape)."""
    if isinstance(document, dict):
        return {key: _values(value) for key, value in document.items() if key != "confidence"}
    if isinstance(document, list):
        return [_values(value) for value in document]
    return document


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
    parser.add_argument("--engine-dtype", default=None, help="engine weights' dtype (default bfloat16 on CUDA)")
    parser.add_argument("--profile", type=int, default=0, help="print the top GPU operations of one engine batch "
                                                                  "of this size")
    parser.add_argument("--attention", type=int, nargs="*", default=[],
                        help="time the decode attention alone at these batch sizes first")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    args = parser.parse_args()

    for rows in args.attention:
        attention_check(args.assets, args.size, rows)
    images = receipts(2 * max(args.baseline + args.engine + [1]))
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        start = time.perf_counter()
        build_checkpoint(args.assets, args.size, folder)
        print(f"checkpoint {args.size} saved in {time.perf_counter() - start:.0f}s on {torch.cuda.get_device_name()}",
              flush=True)
        if args.profile:
            profile(folder, images, args.new, args.pixel_budgets[0], args.profile)
        rows = baseline(folder, images, args.baseline, args.new, args.max_pixels) if args.baseline else []
        rows += engine_runs(folder, images, args.engine, args.new, args.pixel_budgets, args.single,
                            args.engine_dtype)
    base = {row["batch"]: row["per_s"] for row in rows if row["run"] == "baseline"}
    print(f"\n{args.size} on {torch.cuda.get_device_name()}")
    print(f"{'run':24} {'batch':>5} {'docs':>5} {'s':>7} {'docs/s':>7} {'out tok':>7} {'prefill':>7} {'decode':>7} "
          f"{'grammar':>7} {'peak GiB':>8} {'vs base':>7}  (vs the baseline of the same batch, else its largest)")
    for row in rows:
        reference = row["batch"] if row["batch"] in base else max(base, default=None)
        ratio = row["per_s"] / base[reference] if reference is not None else float("nan")
        print(f"{row['run']:24} {row['batch']:5d} {row['docs']:5d} {row['seconds']:7.2f} {row['per_s']:7.2f} "
              f"{row['out_tokens']:7.0f} {row.get('prefill_s', 0):7.2f} {row.get('decode_s', 0):7.2f} "
              f"{row.get('grammar_cpu_s', 0):7.2f} {row['peak_gib']:8.1f} {ratio:7.1f}")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
