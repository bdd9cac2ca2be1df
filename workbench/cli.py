"""The `workbench` command: extract (JSON Lines), import a folder, export, evaluate, account mappings."""

import argparse
import datetime as dt
import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from schemas import DocumentResult
from workbench.config import Settings, load_settings
from workbench.errors import ConfigError, InputError, WorkbenchError

log = logging.getLogger("workbench")

STATUS_CHOICES = ("approved", "needs_review", "rejected", "failed", "all")


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not 0 or more")
    return value


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD") from None


def _rate(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a tax rate in percent (such as 19 or 5.5)")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description="Offline receipt and invoice workbench.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    extract = commands.add_parser("extract", help="read files and print one JSON object per file (JSON Lines)")
    extract.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files (or folders) to read")
    extract.add_argument("--engine", help="engine name (default: the WORKBENCH_ENGINE setting)")
    extract.add_argument("--doc-type", choices=("receipt", "invoice", "auto"), default="auto")

    bulk = commands.add_parser("import", help="read every supported file under a folder into the database")
    bulk.add_argument("folder", type=Path)
    bulk.add_argument("--engine", help="engine name (default: the WORKBENCH_ENGINE setting)")
    bulk.add_argument("--doc-type", choices=("receipt", "invoice", "auto"), default="auto")
    bulk.add_argument("--workers", type=_count, help="reader processes for OCR (0: one per core)")

    export = commands.add_parser("export", help="write stored documents to Excel, bookkeeping CSV or JSON")
    export.add_argument("--xlsx", type=Path, metavar="OUT.xlsx", help="the Excel workbook")
    export.add_argument("--csv", nargs=2, action="append", default=[], metavar=("LAYOUT", "OUT.csv"),
                        help="a bookkeeping layout: xero, quickbooks or datev (may be repeated)")
    export.add_argument("--json", type=Path, metavar="OUT.json", help="all fields as JSON")
    export.add_argument("--audit", type=Path, metavar="OUT.csv", help="the whole audit trail as CSV")
    export.add_argument("--status", action="append", choices=STATUS_CHOICES,
                        help="documents with this status (may be repeated; default: approved)")
    export.add_argument("--from", dest="start", type=_day, metavar="YYYY-MM-DD",
                        help="only documents dated on or after this day")
    export.add_argument("--to", dest="end", type=_day, metavar="YYYY-MM-DD",
                        help="only documents dated on or before this day")
    export.add_argument("--include-exported", action="store_true",
                        help="--csv: write documents an earlier bookkeeping export wrote too (booked twice)")

    evaluate = commands.add_parser("eval", help="score an engine on a labelled folder (SROIE or ZUGFeRD layout)")
    evaluate.add_argument("folder", type=Path)
    evaluate.add_argument("--out", type=Path, default=Path("eval-out"), help="folder for the diagram and misses")
    evaluate.add_argument("--engine", help="engine name (default: the WORKBENCH_ENGINE setting)")

    mapping = commands.add_parser("mapping", help="list or set the account codes used by the CSV exports")
    target = mapping.add_mutually_exclusive_group()
    target.add_argument("--merchant", help="a merchant or supplier name")
    target.add_argument("--category", help="a document type (receipt, invoice) or * for every document")
    target.add_argument("--rate", type=_rate, metavar="PERCENT",
                        help="a tax rate in percent (19, 7, 5.5): its --tax-code in the --layout")
    mapping.add_argument("--layout", choices=("xero", "quickbooks", "datev"),
                         help="with --rate: the bookkeeping layout the tax code is for")
    mapping.add_argument("--account", help="expense account code")
    mapping.add_argument("--tax-code", help="tax code (Xero tax type, QuickBooks tax code, DATEV BU-Schlüssel)")
    mapping.add_argument("--contra", help="contra account (creditor or cash account; DATEV Gegenkonto)")
    mapping.add_argument("--delete", action="store_true", help="forget the mapping of this merchant or category")
    return parser


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        # Libraries such as rapidocr log every model load at INFO on their own handlers.
        logging.disable(logging.INFO)


def _settings(**overrides: Any) -> Settings:
    try:
        settings = load_settings()
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(f"setting WORKBENCH_{str(first['loc'][0]).upper()}: {first['msg']}") from None
    updates = {key: value for key, value in overrides.items() if value is not None}
    return settings.model_copy(update=updates) if updates else settings


def _expand(paths: list[Path], settings: Settings) -> Iterator[Path]:
    from workbench.ingest import iter_files

    for path in paths:
        if path.is_dir():
            yield from iter_files(path, settings)
        else:
            yield path


def _json_stdout() -> IO[str]:
    """A text stream onto the real standard output, which is then pointed at stderr.

    Whatever else writes to fd 1 (a native library, a stray print) lands on stderr, so standard
    output holds only the JSON Lines.
    """
    sys.stdout.flush()
    real = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return real


def _extract(args: argparse.Namespace) -> int:
    from workbench.engines import create_engine
    from workbench.pipeline import process_path

    settings = _settings(engine=args.engine)
    out = _json_stdout()
    engine = create_engine(settings.engine, settings)
    failed = 0
    for path in _expand(args.paths, settings):
        label = str(path)
        try:
            result, _ = process_path(path, engine, settings, args.doc_type, label=label)
        except Exception as error:  # one file's bug must not stop the others; it is reported as that file's error
            log.error("unexpected failure while reading %s", label, exc_info=error)
            result = DocumentResult(file=label, engine=engine.name,
                                    error=f"{label}: unexpected {type(error).__name__} while reading: {error}")
        if result.error is not None:
            failed += 1
            log.warning("%s", result.error)
        out.write(json.dumps(result.model_dump(mode="json"), ensure_ascii=False) + "\n")
    out.flush()
    if failed:
        log.warning("%d file(s) could not be read", failed)
        return InputError.exit_code
    return 0


def _import(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from workbench.batch import ProgressEvent, import_folder
    from workbench.store import Store

    if not args.folder.is_dir():
        raise InputError(str(args.folder), "is not a folder")
    settings = _settings(engine=args.engine, workers=args.workers)
    store = Store(settings.db)
    bar = tqdm(total=0, unit="file", file=sys.stderr, dynamic_ncols=True, delay=0.5)

    def progress(event: ProgressEvent) -> None:
        bar.total = event.total
        bar.update(1)
        bar.set_postfix_str(event.file[-40:], refresh=False)
        if event.outcome == "failed":
            bar.write(f"failed: {event.error}", file=sys.stderr)

    try:
        report = import_folder(args.folder, store, settings, settings.engine, args.doc_type, progress)
    finally:
        bar.close()
        store.close()
    for message in report.unsupported:
        print(f"left out: {message}", file=sys.stderr)
    print(report.summary())
    return InputError.exit_code if report.failed else 0


def _write_file(target: Path, data: bytes) -> None:
    try:
        target.write_bytes(data)
    except OSError as error:
        raise ConfigError(f"cannot write {target}: {error.strerror or error}") from None


def _export(args: argparse.Namespace) -> int:
    from workbench.duplicates import find_duplicates
    from workbench.export import (AccountMap, new_export_id, not_yet_booked, record_booking_export, record_export,
                                  write_audit_csv, write_csv, write_json, write_workbook)
    from workbench.periods import Period, in_period
    from workbench.store import STATUSES, Store

    if args.xlsx is None and not args.csv and args.json is None and args.audit is None:
        raise ConfigError("say what to write: --xlsx OUT.xlsx, --csv LAYOUT OUT.csv, --json OUT.json"
                          " and/or --audit OUT.csv")
    if args.start and args.end and args.start > args.end:
        raise ConfigError(f"--from {args.start} is after --to {args.end}; give the earlier day first")
    statuses = tuple(args.status or ["approved"])
    chosen = None if "all" in statuses else tuple(s for s in STATUSES if s in statuses)
    period = Period(args.start, args.end)
    settings = _settings()
    store = Store(settings.db)
    try:
        everything = store.list()
        documents = in_period([d for d in everything if chosen is None or d.status in chosen], period)
        if not documents:
            log.warning("no documents with status %s dated %s in %s", " or ".join(statuses), period.label(),
                        settings.db)
        duplicates = find_duplicates(everything)
        # One export id for the whole run: every layout of it books the same documents.
        export_id = new_export_id()
        to_book = not_yet_booked(documents, args.include_exported)
        for preset, target in args.csv:
            # Written whole or not at all: a layout that refuses the batch leaves no half file behind.
            buffer = io.BytesIO()
            report = write_csv(preset, to_book, buffer, AccountMap.from_store(store))
            report.refuse_empty()
            _write_file(Path(target), buffer.getvalue())
            record_booking_export(store, report, preset, str(target), settings.user, export_id)
            for entry in report.left_out:
                print(f"left out: {entry.reason}", file=sys.stderr)
            skipped = len(documents) - len(to_book)
            already = (f"; {skipped} already exported left out (--include-exported writes them again)"
                       if skipped else "")
            print(f"wrote {len(report.written)} documents to {target} ({preset}, export {export_id}){already}")
        if args.xlsx is not None:
            buffer = io.BytesIO()
            write_workbook(documents, buffer, settings.review_threshold, duplicates, store.audit())
            _write_file(args.xlsx, buffer.getvalue())
            record_export(store, documents, "xlsx", str(args.xlsx), settings.user)
            print(f"wrote {len(documents)} documents to {args.xlsx}")
        if args.json is not None:
            buffer = io.BytesIO()
            write_json(documents, buffer, duplicates)
            _write_file(args.json, buffer.getvalue())
            record_export(store, documents, "json", str(args.json), settings.user)
            print(f"wrote {len(documents)} documents to {args.json}")
        if args.audit is not None:
            buffer = io.BytesIO()
            write_audit_csv(store.audit(), buffer)
            _write_file(args.audit, buffer.getvalue())
            print(f"wrote the audit trail to {args.audit}")
    finally:
        store.close()
    return 0


def _eval(args: argparse.Namespace) -> int:
    from workbench.engines import create_engine
    from workbench.evaluate import evaluate_folder

    if not args.folder.is_dir():
        raise InputError(str(args.folder), "is not a folder")
    settings = _settings(engine=args.engine)
    engine = create_engine(settings.engine, settings)
    args.out.mkdir(parents=True, exist_ok=True)
    print(evaluate_folder(args.folder, engine, args.out, settings))
    return 0


def _mapping(args: argparse.Namespace) -> int:
    from workbench.export import rate_key
    from workbench.store import Store

    settings = _settings()
    store = Store(settings.db)
    try:
        if args.rate is not None:
            if args.layout is None:
                raise ConfigError("--rate needs --layout: the tax code of a rate differs between xero, quickbooks"
                                  " and datev")
            kind, key = "rate", rate_key(args.layout, args.rate)
        else:
            kind, key = ("merchant", args.merchant) if args.merchant else ("category", args.category)
        if key is not None:
            if args.delete:
                store.delete_mapping(kind, key, settings.user)
            else:
                store.set_mapping(kind, key, settings.user, account_code=args.account, tax_code=args.tax_code,
                                  contra_account=args.contra)
        for m in store.mappings():
            print(f"{m.kind}\t{m.key}\taccount={m.account_code or ''}\ttax={m.tax_code or ''}"
                  f"\tcontra={m.contra_account or ''}")
    finally:
        store.close()
    return 0


COMMANDS = {"extract": _extract, "import": _import, "export": _export, "eval": _eval, "mapping": _mapping}


def main(argv: list[str] | None = None) -> int:
    """Run one command; a WorkbenchError prints its message on stderr and exits with its exit code."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return COMMANDS[args.command](args)
    except WorkbenchError as error:
        print(f"workbench {args.command}: {error.user_message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"workbench {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
