"""Score an engine on a labelled folder: receipts (images/ + labels/, SROIE or WildReceipt labels) or invoices
(pdfs/ + labels/, ZUGFeRD-layout labels, xml/ optional: zugferd-dev, zugferd-more, rendered e-invoices)."""

from pathlib import Path

from workbench.config import Settings
from workbench.engines.base import Engine
from workbench.errors import InputError
from workbench.ocr import describe


def evaluate_folder(folder: Path, engine: Engine, out_dir: Path, settings: Settings) -> str:
    """Detect the folder's layout, evaluate `engine` on it, write the diagram and misses CSV to out_dir.

    Returns the report text (per-field accuracy, calibration figures, where the files were written).
    """
    folder = Path(folder)
    header = f"{describe(settings)}\n" if engine.name == "ocr" else ""
    if not folder.is_dir():
        raise InputError(str(folder), "not a folder")
    if (folder / "pdfs").is_dir() and (folder / "labels").is_dir():
        from workbench.evaluate.zugferd import evaluate_zugferd

        return header + evaluate_zugferd(folder, engine, Path(out_dir), settings)
    if (folder / "images").is_dir() and (folder / "labels").is_dir():
        from workbench.evaluate.sroie import evaluate_sroie

        return header + evaluate_sroie(folder, engine, Path(out_dir), settings)
    raise InputError(
        str(folder),
        "not a labelled folder; expected images/ + labels/ (SROIE or WildReceipt layout) or pdfs/ + labels/ "
        "(ZUGFeRD layout)",
    )
