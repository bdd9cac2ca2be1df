"""Print how the embedded engine reads groups of documents it was not trained on (leave one group out).

    python -m bench.generalisation                         # every group found under ../shared/data
    python -m bench.generalisation --synthetic DIR --rendered DIR --limit 50

Receipts: for each real receipt group (sroie-train, wildreceipt-dev) a model is trained on the other real
groups plus the `--synthetic` folders (generated receipts only ever train) and scores the group left out;
each group is scored twice, with the merchant memory (known names and addresses of the training labels)
and with it off, so the figures do not stand on shops seen in training. The shipped model is trained on
every group (`python scripts/train_receipt.py`).
Invoices: the groups are zugferd-dev + zugferd-more (each invoice read as its text layer and as a scan:
pages rendered at WORKBENCH_RENDER_DPI, text layer and XML removed, OCR only) and each rendered einvoice-xml
folder (`--rendered`, made by scripts/render_einvoices.py, read as rendered). The rules choose the values;
the judges and calibration that give the confidence are trained on the other groups
(`scripts/train_invoice.py` trains the shipped ones on all of them).
Per group and field: accuracy, the share of fields with confidence >= 0.9 and how many of those are right.
OCR results are cached per group under the user cache dir (`--cache`). Receipt labels: SROIE (CC BY 4.0,
ICDAR 2019, Huang et al.), WildReceipt (Apache-2.0, Sun et al. 2021).
"""

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_dir

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from workbench.config import Settings  # noqa: E402
from workbench.engines.ocr import OcrEngine  # noqa: E402
from workbench.ocr import describe  # noqa: E402
from workbench.training import (  # noqa: E402
    LABEL_NAMES,
    Example,
    InvoiceExample,
    fit_invoice_model,
    fit_model,
    invoice_outcomes,
    load_group,
    load_invoice_group,
    score,
)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
RECEIPT_GROUPS = {"sroie-train": DATA / "sroie-train", "wildreceipt-dev": DATA / "wildreceipt-dev"}
ZUGFERD = [DATA / "zugferd-dev", DATA / "zugferd-more"]
INVOICE_FIELDS = ("invoice_number", "issue_date", "seller.name", "grand_total", "net_total", "tax_total", "currency")
CONFIDENT = 0.9


@dataclass(frozen=True)
class Row:
    """One printed line of the table: a group's field."""

    group: str
    field: str
    total: int
    right: int
    confident: int
    confident_right: int

    def text(self) -> str:
        accuracy = self.right / self.total if self.total else 0.0
        share = self.confident / self.total if self.total else 0.0
        precise = f"{self.confident_right / self.confident:7.1%}" if self.confident else "      -"
        return (f"  {self.group:<28} {self.field:<16} {accuracy:7.1%} ({self.right:>3}/{self.total:<3})  "
                f"{share:7.1%}  {precise} ({self.confident_right}/{self.confident})")


def rows_of(group: str, outcomes: list[tuple[str, bool, float]]) -> list[Row]:
    """Table rows from (field, right, confidence) outcomes, one per field plus an 'all fields' row."""
    fields = list(dict.fromkeys(field for field, _, _ in outcomes))
    rows = []
    for field in [*fields, "all fields"]:
        chosen = [o for o in outcomes if field in ("all fields", o[0])]
        confident = [o for o in chosen if o[2] >= CONFIDENT]
        rows.append(Row(group, field, len(chosen), sum(o[1] for o in chosen), len(confident),
                        sum(o[1] for o in confident)))
    return rows


def receipt_rows(groups: dict[str, list[Example]], synthetic: list[Example]) -> list[Row]:
    rows = []
    for held_out, examples in groups.items():
        training = [ex for name, group in groups.items() if name != held_out for ex in group] + synthetic
        if not training:
            print(f"{held_out}: no other group to train on; left out", file=sys.stderr)
            continue
        started = time.perf_counter()
        model = fit_model(training)
        for memory in (True, False):
            outcomes = [(LABEL_NAMES[o.field], o.right, o.confidence) for o in score(model, examples, memory)]
            label = f"{held_out} (memory {'on' if memory else 'off'})"
            rows += rows_of(label, outcomes)
        print(f"{held_out}: trained on {len(training)} receipts, scored in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
    return rows


def invoice_rows(groups: dict[str, list[InvoiceExample]]) -> list[Row]:
    """Each invoice group scored by an invoice model trained on the other groups (the rules' own confidence
    when there is no other group)."""
    rows = []
    for held_out, examples in groups.items():
        training = [ex for name, group in groups.items() if name != held_out for ex in group]
        model = fit_invoice_model(training) if training else None
        how = "judges of the other groups" if model is not None else "rules' confidence: no other group"
        for route in dict.fromkeys(ex.route for ex in examples):
            chosen = [ex for ex in examples if ex.route == route]
            outcomes = [(path, right, confidence)
                        for _, path, _, right, confidence in invoice_outcomes(chosen, model) if path in INVOICE_FIELDS]
            rows += rows_of(f"{held_out} ({route}; {how})", outcomes)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", action="append", default=[], type=Path,
                        help="a folder of generated labelled receipts (images/ + labels/) to train on")
    parser.add_argument("--rendered", action="append", default=[], type=Path,
                        help="a folder of rendered e-invoices (pdfs/ + labels/, scripts/render_einvoices.py)")
    parser.add_argument("--limit", type=int, default=None, help="at most N documents of each group (development)")
    parser.add_argument("--cache", type=Path, default=Path(user_cache_dir("receipt-workbench", appauthor=False)))
    parser.add_argument("--skip-receipts", action="store_true")
    parser.add_argument("--skip-invoices", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings()
    rows: list[Row] = []
    if not args.skip_receipts:
        groups = {name: load_group(folder, args.cache / ("sroie-ocr" if name == "sroie-train" else f"{name}-ocr"),
                                   name, args.limit)
                  for name, folder in RECEIPT_GROUPS.items() if (folder / "images").is_dir()}
        synthetic = [ex for folder in args.synthetic
                     for ex in load_group(folder, args.cache / f"synthetic-{folder.name}-ocr", "synthetic", args.limit)]
        rows += receipt_rows(groups, synthetic)
    if not args.skip_invoices:
        engine = OcrEngine(settings)
        plans = [("zugferd", [f for f in ZUGFERD if (f / "labels").is_dir()], route) for route in ("text", "scan")]
        plans += [(f"rendered {folder.name}", [folder], "as rendered") for folder in args.rendered]
        invoice_groups: dict[str, list[InvoiceExample]] = {}
        for group, folders, route in plans:
            if folders:
                found, skipped = load_invoice_group(folders, route, args.cache, group, settings, engine, args.limit)
                for reason in skipped:
                    print(f"left out {reason}", file=sys.stderr)
                invoice_groups.setdefault(group, []).extend(found)
        rows += invoice_rows(invoice_groups)
    print(f"Leave-one-group-out, {describe(settings)}: accuracy, share of fields at confidence >= {CONFIDENT}, "
          "right among those")
    print(f"  {'group':<28} {'field':<16} {'accuracy':>17}  {'>=0.9':>7}  {'right':>7}")
    for row in rows:
        print(row.text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
