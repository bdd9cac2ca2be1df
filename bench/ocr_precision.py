"""Print how far confidences move between OCR configurations: OpenVINO bf16, OpenVINO f32 and onnxruntime.

    python -m bench.ocr_precision                                  # samples + 100 SROIE receipts
    python -m bench.ocr_precision --sroie 100 --before old_model.json.gz

Each document is OCR'd once per configuration; its fields are then extracted from those page texts with the
shipped receipt model (and, with --before, also with another model file, e.g. the previous calibration:
`git show <commit>:workbench/models/receipt_model.json.gz > old_model.json.gz`), so both models see the
same OCR. Per field the bench prints the largest change of confidence of one document across the three
configurations, the mean change, and how many documents have that field flagged for review (confidence below
WORKBENCH_REVIEW_THRESHOLD) in one configuration and not in another. OpenVINO bf16 is left out on CPUs that
do not compute bf16. Samples with an embedded e-invoice are read from their XML (confidence 1) and skipped.
SROIE: CC BY 4.0, ICDAR 2019 Robust Reading Challenge on Scanned Receipts OCR and Information Extraction
(Huang et al., ICDAR 2019).
"""

import argparse
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from schemas import Invoice, PageText, Receipt  # noqa: E402
from workbench.config import Settings  # noqa: E402
from workbench.engines.ocr import OcrEngine  # noqa: E402
from workbench.errors import ConfigError, WorkbenchError  # noqa: E402
from workbench.extract.classify import classify  # noqa: E402
from workbench.extract.invoice import extract_invoice  # noqa: E402
from workbench.extract.ranker import MODEL_PATH, ExtractionModel, load_model  # noqa: E402
from workbench.extract.receipt import extract_receipt  # noqa: E402
from workbench.ingest import load_path  # noqa: E402
from workbench.ocr import computed_precision  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {
    "openvino-bf16": {"ocr_backend": "openvino", "ocr_precision": "bf16"},
    "openvino-f32": {"ocr_backend": "openvino", "ocr_precision": "f32"},
    "onnxruntime": {"ocr_backend": "onnxruntime", "ocr_precision": "auto"},
}


def field_confidences(document: Receipt | Invoice) -> dict[str, float]:
    """Field path (list positions dropped: `line_items[].amount`) → confidence, per field with a value.

    A list field contributes its entries by position (`line_items[0]`), so an entry is compared with the
    same entry under the other configurations.
    """
    found: dict[str, float] = {}

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            if "confidence" in node and node.get("value") is not None:
                found[path] = float(node["confidence"])
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else key)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}[{index}]")

    walk(document.model_dump(mode="json"), "")
    return found


def extract(pages: list[PageText], model: ExtractionModel) -> Receipt | Invoice:
    return extract_invoice(pages) if classify(pages) == "invoice" else extract_receipt(pages, model)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=REPO / "samples")
    parser.add_argument("--sroie", type=int, default=100, help="SROIE receipts to add (every k-th of the folder)")
    parser.add_argument("--folder", type=Path, default=REPO.parent / "shared" / "data" / "sroie-train")
    parser.add_argument("--before", type=Path, default=None, help="another receipt model file to compare with")
    args = parser.parse_args(argv)
    base = Settings()
    files = sorted(p for p in args.samples.iterdir() if p.is_file() and p.suffix.lower() in
                   {".jpg", ".jpeg", ".png", ".webp", ".tiff", ".tif", ".pdf"})
    images = sorted((args.folder / "images").glob("*.jpg")) if args.sroie else []
    if args.sroie and not images:
        print(f"{args.folder}: no images/*.jpg; only the samples are read", file=sys.stderr)
    step = max(1, len(images) // max(args.sroie, 1))
    files += images[::step][: args.sroie]
    models = {"shipped": load_model(MODEL_PATH)}
    if args.before is not None:
        models = {"before": load_model(args.before), "after": models["shipped"]}
    # config → model → file → field → confidence
    seen: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for config, values in CONFIGS.items():
        settings = Settings(**values)
        try:
            engine = OcrEngine(settings)
        except ConfigError as error:
            print(f"{config}: left out ({error.user_message})", file=sys.stderr)
            continue
        seen[config] = {label: {} for label in models}
        for path in files:
            try:
                source = load_path(path, settings)
            except WorkbenchError as error:
                print(f"{path.name}: {error.user_message}", file=sys.stderr)
                continue
            if source.xml is not None:
                continue
            pages = engine.page_texts(source)
            for label, model in models.items():
                seen[config][label][path.name] = field_confidences(extract(pages, model))
        print(f"{config} ({computed_precision(settings)}): {len(seen[config][next(iter(models))])} documents read",
              file=sys.stderr)
    if len(seen) < 2:
        raise SystemExit("fewer than two OCR configurations could run; nothing to compare")
    threshold = base.review_threshold
    print(f"{len(files)} documents ({len(files) - len(images[::step][: args.sroie])} samples, "
          f"{len(images[::step][: args.sroie])} SROIE), configurations: {', '.join(seen)}; "
          f"review threshold {threshold}")
    for label in models:
        changes: dict[str, list[float]] = defaultdict(list)
        flips: dict[str, int] = defaultdict(int)
        worst: dict[str, str] = {}
        names = set.intersection(*(set(seen[c][label]) for c in seen))
        for name in sorted(names):
            fields = set.intersection(*(set(seen[c][label][name]) for c in seen))
            for field in fields:
                values = [seen[c][label][name][field] for c in seen]
                key = re.sub(r"\[\d+\]", "[]", field)
                change = max(values) - min(values)
                if change > max(changes[key], default=-1.0):
                    worst[key] = name
                changes[key].append(change)
                flips[key] += len({v < threshold for v in values}) > 1
        print(f"\nmodel: {label} ({models[label].meta.get('calibration', 'isotonic')})")
        print(f"  {'field':<28} {'largest':>8} {'mean':>7} {'flips':>6}  documents  (largest at)")
        for key in sorted(changes, key=lambda k: -max(changes[k])):
            print(f"  {key:<28} {max(changes[key]):8.3f} {sum(changes[key]) / len(changes[key]):7.3f} "
                  f"{flips[key]:6d}  {len(changes[key]):9d}  ({worst[key]})")
        overall = max((max(v) for v in changes.values()), default=0.0)
        print(f"  largest change of any field: {overall:.3f}; fields flagged differently: {sum(flips.values())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
