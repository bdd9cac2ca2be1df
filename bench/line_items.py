"""Measure line-item reading on receipt photos and e-invoices: item count, amounts, and the items' sum.

Usage: python bench/line_items.py [--data ../shared/data] [--limit N] [--baseline COMMIT]

Sources, each read through the code the app uses (ingest, the `ocr` engine's page text, the extractor):
- wildreceipt-dev: the receipt photos, OCR'd. Labelled items are the `Prod_item_value` boxes; an item's
  amount is the `Prod_price_value` box on the same printed row (the most vertical overlap), its quantity
  the `Prod_quantity_value` box there. The sum is checked against `Subtotal_value`, else `Total_value`.
- zugferd text: zugferd-dev + zugferd-more PDFs through their text layer (embedded XML removed).
- zugferd scan: the same PDFs rendered to images (text layer and XML removed) and OCR'd.
  Labelled items are `fields.line_items` without the note lines (no name and no amount); the sum is
  checked against `totals.line_total`, else `tax_basis_total`. Amounts, quantities and prices are compared
  without their sign (credit notes are stored negated, their labels positive).

Figures per source: documents; the share whose number of items is right; item-level precision and recall
of the amounts (a multiset match, to the cent); among amount-matched items, the share whose description
(letters and digits, 85 % alike), quantity and unit price agree with the label where it has one; the share
whose items' amounts sum to the labelled subtotal (of documents with items and a subtotal or total labelled;
`ceiling` is the share whose labelled amounts themselves do). OCR results are cached under the user cache
directory (`receipt-workbench/line-items-ocr`, keyed by the page's pixels and the OCR settings), so reruns and the
baseline read the same text.

With `--baseline COMMIT` the same measurement runs first on that commit (a throwaway `git worktree`,
imported through PYTHONPATH in a child process) and both are printed side by side.

Data: WildReceipt (Sun et al., 2021; Apache-2.0, via MMOCR); ZUGFeRD corpus / FeRD / Mustangproject /
horstoeko samples (see ../shared/data/README.md for each file's licence).
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

CENT = Decimal("0.01")
SOURCES = ("wildreceipt", "zugferd-text", "zugferd-scan")
METRICS = ("count", "precision", "recall", "desc", "qty", "price", "sum", "ceiling")


class CachingReader:
    """The product's OCR reader, its results kept on disk by page pixels and OCR settings."""

    def __init__(self, settings, folder: Path) -> None:
        self._settings = settings
        self._folder = folder
        self._reader = None
        folder.mkdir(parents=True, exist_ok=True)
        ocr_settings = {k: v for k, v in settings.model_dump().items() if k.startswith("ocr_")}
        self._salt = json.dumps(ocr_settings, sort_keys=True, default=str).encode()

    def read(self, image):
        from schemas import TextLine

        digest = hashlib.sha1(self._salt + f"{image.size}{image.mode}".encode() + image.tobytes()).hexdigest()
        entry = self._folder / f"{digest}.json"
        if entry.exists():
            return [TextLine.model_validate(line) for line in json.loads(entry.read_text())]
        if self._reader is None:
            from workbench.ocr import RapidOcrReader

            self._reader = RapidOcrReader(self._settings)
        lines = self._reader.read(image)
        entry.write_text(json.dumps([line.model_dump() for line in lines]))
        return lines


def _amount(text: str | None) -> Decimal | None:
    from workbench.extract.parsers import find_amounts

    if not text:
        return None
    found = find_amounts(text.replace(" ", "")) or find_amounts(text, require_cents=False)
    return abs(found[-1][0]) if found else None


def _number(value) -> Decimal | None:
    return None if value in (None, "") else abs(Decimal(str(value)))


def _same_row(item: dict, boxes: list[dict]) -> dict | None:
    def span(box: dict) -> tuple[float, float]:
        ys = box["points"][1::2]
        return min(ys), max(ys)

    top, bottom = span(item)
    best, best_overlap = None, 0.0
    for box in boxes:
        low, high = span(box)
        overlap = min(bottom, high) - max(top, low)
        if overlap > 0.3 * min(bottom - top, high - low) and overlap > best_overlap:
            best, best_overlap = box, overlap
    return best


def wildreceipt_truth(label: dict) -> tuple[list[tuple], Decimal | None]:
    """Labelled items as (amount, quantity, unit price, description) and the subtotal (else total) of a label."""
    boxes = label["boxes"]
    prices = [b for b in boxes if b["label"] == "Prod_price_value"]
    quantities = [b for b in boxes if b["label"] == "Prod_quantity_value"]
    items = []
    for item in (b for b in boxes if b["label"] == "Prod_item_value"):
        price = _same_row(item, prices)
        quantity = _same_row(item, quantities)
        items.append((_amount(price["text"]) if price else None, _amount(quantity["text"]) if quantity else None, None,
                      item["text"]))
    fields = label.get("fields") or {}
    target = _amount((fields.get("Subtotal_value") or "").split(" | ")[0]) or \
        _amount((fields.get("Total_value") or "").split(" | ")[0])
    return items, target


def invoice_truth(fields: dict) -> tuple[list[tuple], Decimal | None]:
    """Labelled items as (amount, quantity, unit price, description) and the line total of a ZUGFeRD label."""
    items = [(_number(i.get("line_total")), _number(i.get("quantity")),
              None if i.get("net_unit_price") is None else _number(i["net_unit_price"]).quantize(CENT), i.get("name"))
             for i in fields.get("line_items") or [] if i.get("name") is not None or i.get("line_total") is not None]
    totals = fields.get("totals") or {}
    return items, _number(totals.get("line_total")) or _number(totals.get("tax_basis_total"))


def _same_text(got: str | None, want: str) -> bool:
    """Descriptions compared on letters and digits (WildReceipt removed the spaces), forgiving 15 % of them."""
    from rapidfuzz import fuzz

    def key(text: str) -> str:
        return re.sub(r"[\W_]+", "", text).upper()

    return got is not None and fuzz.ratio(key(got), key(want)) >= 85


def score(got: list[tuple], want: list[tuple], target: Decimal | None) -> dict[str, float]:
    """Counts for one document; `got` and `want` are lists of (amount, quantity, unit price, description)."""
    counts = Counter({"docs": 1, "count": float(len(got) == len(want))})
    got_amounts = Counter(g[0] for g in got if g[0] is not None)
    want_amounts = Counter(w[0] for w in want if w[0] is not None)
    matched = sum((got_amounts & want_amounts).values())
    counts.update({"matched": matched, "got": sum(got_amounts.values()), "want": sum(want_amounts.values())})
    pool = list(got)
    for amount, quantity, price, description in want:
        found = next((g for g in pool if amount is not None and g[0] == amount), None)
        if found is None:
            continue
        pool.remove(found)
        if quantity is not None:
            counts.update({"qty_n": 1, "qty_ok": int(found[1] is not None and found[1] == quantity)})
        if price is not None:
            counts.update({"price_n": 1, "price_ok": int(found[2] is not None and found[2] == price)})
        if description:
            counts.update({"desc_n": 1, "desc_ok": int(_same_text(found[3], description))})
    if want and target is not None:
        got_sum = sum((g[0] for g in got if g[0] is not None), Decimal(0))
        want_sum = sum((w[0] for w in want if w[0] is not None), Decimal(0))
        counts.update({"sum_n": 1, "sum_ok": int(abs(got_sum - target) <= CENT),
                       "ceiling_ok": int(abs(want_sum - target) <= CENT)})
    return counts


def _items(document) -> list[tuple]:
    return [(None if i.amount is None else abs(i.amount), None if i.quantity is None else abs(i.quantity),
             None if i.unit_price is None else abs(i.unit_price), i.description) for i in document.line_items]


def measure(data: Path, limit: int | None, sources: list[str]) -> dict[str, dict[str, float]]:
    """Summed counts per source."""
    from platformdirs import user_cache_dir

    from workbench.config import Settings
    from workbench.engines.ocr import OcrEngine
    from workbench.extract.invoice import extract_invoice
    from workbench.extract.receipt import extract_receipt
    from workbench.ingest import load_path

    settings = Settings()
    cache = Path(os.environ.get("LINE_ITEMS_OCR_CACHE",
                                Path(user_cache_dir("receipt-workbench", appauthor=False)) / "line-items-ocr"))
    engine = OcrEngine(settings, reader=CachingReader(settings, cache))
    results: dict[str, Counter] = {s: Counter() for s in sources}
    if "wildreceipt" in sources:
        folder = data / "wildreceipt-dev"
        for image in sorted((folder / "images").iterdir())[:limit]:
            label = json.loads((folder / "labels" / f"{image.stem}.json").read_text())
            want, target = wildreceipt_truth(label)
            receipt = extract_receipt(engine.page_texts(load_path(image, settings)))
            results["wildreceipt"].update(score(_items(receipt), want, target))
            print(".", end="", file=sys.stderr, flush=True)
    for route in ("text", "scan"):
        if f"zugferd-{route}" not in sources:
            continue
        for name in ("zugferd-dev", "zugferd-more"):
            folder = data / name
            for pdf in sorted((folder / "pdfs").glob("*.pdf"))[:limit]:
                fields = json.loads((folder / "labels" / f"{pdf.stem}.json").read_text())["fields"]
                want, target = invoice_truth(fields)
                source = load_path(pdf, settings)
                pages = [p if route == "text" else p.model_copy(update={"text_lines": None}) for p in source.pages]
                source = source.model_copy(update={"xml": None, "xml_name": None, "pages": pages})
                invoice = extract_invoice(engine.page_texts(source))
                results[f"zugferd-{route}"].update(score(_items(invoice), want, target))
                print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return {s: dict(c) for s, c in results.items()}


def figures(counts: dict[str, float]) -> dict[str, float | None]:
    """The percentages of one source from its summed counts (None where nothing was counted)."""
    def share(ok: str, n: str) -> float | None:
        return 100.0 * counts.get(ok, 0) / counts[n] if counts.get(n) else None

    return {"docs": counts.get("docs", 0), "count": share("count", "docs"), "precision": share("matched", "got"),
            "recall": share("matched", "want"), "desc": share("desc_ok", "desc_n"), "qty": share("qty_ok", "qty_n"),
            "price": share("price_ok", "price_n"),
            "sum": share("sum_ok", "sum_n"), "ceiling": share("ceiling_ok", "sum_n")}


def table(after: dict[str, dict], before: dict[str, dict] | None) -> str:
    """A Markdown table of every source and figure, the baseline beside when given."""
    heads = {"count": "items counted right", "precision": "amount precision", "recall": "amount recall",
             "desc": "description right (matched)", "qty": "qty right (matched)",
             "price": "unit price right (matched)", "sum": "items sum = subtotal",
             "ceiling": "labels' own sum = subtotal"}
    lines = ["| source | docs | figure | " + ("baseline | " if before else "") + "now |",
             "|---|---|---|" + ("---|" if before else "") + "---|"]
    for source, counts in after.items():
        now = figures(counts)
        old = figures(before[source]) if before and source in before else None
        for key in METRICS:
            cell = "—" if now[key] is None else f"{now[key]:.1f} %"
            if before:
                old_cell = "—" if old is None or old[key] is None else f"{old[key]:.1f} %"
                cell = f"{old_cell} | {cell}"
            lines.append(f"| {source} | {now['docs']:.0f} | {heads[key]} | {cell} |")
    return "\n".join(lines)


def run_baseline(commit: str, argv: list[str]) -> dict[str, dict]:
    """The measurement on `commit`, checked out in a throwaway worktree and imported in a child process."""
    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="line-items-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        out = Path(tmp) / "baseline.json"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(tree), commit], check=True,
                       stdout=subprocess.DEVNULL)
        try:
            env = {**os.environ, "PYTHONPATH": str(tree)}
            subprocess.run([sys.executable, str(Path(__file__).resolve()), *argv, "--json", str(out)],
                           cwd=tree, env=env, check=True)
            return json.loads(out.read_text())
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    parser.add_argument("--limit", type=int, default=None, help="documents per folder (default: all)")
    parser.add_argument("--sources", nargs="+", choices=SOURCES, default=list(SOURCES))
    parser.add_argument("--baseline", metavar="COMMIT", help="also measure this commit and print it beside")
    parser.add_argument("--json", type=Path, help="write the summed counts here instead of printing a table")
    args = parser.parse_args()
    shared = ["--data", str(args.data.resolve()), "--sources", *args.sources]
    if args.limit is not None:
        shared += ["--limit", str(args.limit)]
    before = run_baseline(args.baseline, shared) if args.baseline else None
    after = measure(args.data, args.limit, args.sources)
    if args.json:
        args.json.write_text(json.dumps(after))
        return
    print(table(after, before))


if __name__ == "__main__":
    main()
