"""Train the invoice model (judges and calibration maps of the invoice fields) on every labelled invoice group.

    python scripts/train_invoice.py                              # zugferd-dev + zugferd-more, text layer and scans
    python scripts/train_invoice.py --rendered ~/.cache/receipt-workbench/rendered-einvoices

Each labelled PDF is read twice, as its text layer and as a scan (pages rendered at WORKBENCH_RENDER_DPI,
text layer and XML removed, OCR only); `--rendered` folders (scripts/render_einvoices.py) are read as they
were rendered. The rules of workbench/extract/invoice.py choose each field's value; the judges learn from
those choices' features whether a value is right, and the calibration map turns their verdict into the
confidence. Pages are cached per folder and route under the user cache dir. Fixed seed. Data: ZUGFeRD
corpus (Apache-2.0), FeRD samples, Mustangproject (Apache-2.0), horstoeko/zugferd (MIT); rendered invoices
from the einvoice-xml test suites (Apache-2.0, EUPL-1.2, MIT: see ../shared/data/README.md).
"""

import argparse
import os
import sys
import time
from pathlib import Path

from platformdirs import user_cache_dir

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from workbench.config import Settings  # noqa: E402
from workbench.engines.ocr import OcrEngine  # noqa: E402
from workbench.extract.ranker import INVOICE_MODEL_PATH  # noqa: E402
from workbench.training import InvoiceExample, fit_invoice_model, load_invoice_group  # noqa: E402

DATA = REPO.parent / "shared" / "data"
ZUGFERD = [DATA / "zugferd-dev", DATA / "zugferd-more"]
CACHE = Path(user_cache_dir("receipt-workbench", appauthor=False))


def load_all(rendered: list[Path], cache: Path, limit: int | None) -> list[InvoiceExample]:
    """The zugferd folders as text layer and as scans, and each rendered folder as rendered."""
    settings = Settings()
    engine = OcrEngine(settings)
    plans = [("zugferd", [f for f in ZUGFERD if (f / "labels").is_dir()], route) for route in ("text", "scan")]
    plans += [(f"rendered:{folder.name}", [folder], "as rendered") for folder in rendered]
    examples: list[InvoiceExample] = []
    for group, folders, route in plans:
        if not folders:
            print(f"{group}: no labelled folder found; left out", file=sys.stderr)
            continue
        started = time.perf_counter()
        found, skipped = load_invoice_group(folders, route, cache, group, settings, engine, limit)
        for reason in skipped:
            print(f"  left out {reason}", file=sys.stderr)
        print(f"{group} ({route}): {len(found)} invoices in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        examples += found
    return examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rendered", action="append", default=[], type=Path,
                        help="a folder of rendered e-invoices (pdfs/ + labels/) to train on as well")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--limit", type=int, default=None, help="at most N invoices of each folder (development)")
    parser.add_argument("--out", type=Path, default=INVOICE_MODEL_PATH)
    args = parser.parse_args()
    examples = load_all(args.rendered, args.cache, args.limit)
    if not examples:
        parser.error("no labelled invoices found")
    model = fit_invoice_model(examples)
    model.meta["licence"] = ("ZUGFeRD corpus and Mustangproject: Apache-2.0; FeRD samples: FeRD licence; "
                             "horstoeko/zugferd: MIT; einvoice-xml sources: Apache-2.0, EUPL-1.2, MIT")
    model.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): "
          f"{', '.join(f'{name}' for name in model.fields)}")


if __name__ == "__main__":
    main()
