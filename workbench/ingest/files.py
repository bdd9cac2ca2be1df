"""List the supported files under a folder, sorted, inside the allowed roots, following no symlink out."""

import os
from collections.abc import Iterator
from pathlib import Path

from workbench.config import Settings
from workbench.errors import InputError
from workbench.ingest.load import SUPPORTED_SUFFIXES


def iter_files(folder: Path, settings: Settings, unsupported: list[Path] | None = None) -> Iterator[Path]:
    """Every supported, non-hidden file under `folder` (paths under it as given), sorted by path.

    Files of other types are appended to `unsupported`, when given, so a caller can say they were left out.

    With settings.roots set, `folder` must lie inside one of them. A symlink is followed only when its
    target lies inside the roots (or, without roots, inside `folder`); a loop is entered once.
    """
    resolved = folder.resolve()
    if not resolved.is_dir():
        raise InputError(str(folder), "is not a folder" if resolved.exists() else "the folder does not exist")
    roots = [root.resolve() for root in settings.roots]
    if roots and not any(resolved.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(root) for root in roots)
        raise InputError(str(folder), f"is outside the folders import may read ({allowed}); add it to the "
                                      "setting WORKBENCH_ROOTS (a JSON list of folders) or move the files there")
    bounds = roots or [resolved]
    found: list[Path] = []
    others: list[Path] = []
    _walk(folder, bounds, {resolved}, found, others)
    if unsupported is not None:
        unsupported.extend(sorted(others, key=lambda path: path.parts))
    return iter(sorted(found, key=lambda path: path.parts))


def _walk(folder: Path, bounds: list[Path], entered: set[Path], found: list[Path], others: list[Path]) -> None:
    try:
        entries = list(os.scandir(folder))
    except OSError as error:
        raise InputError(str(folder), f"the folder cannot be listed ({error.strerror})") from error
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        target = path.resolve()
        if entry.is_symlink() and not any(target.is_relative_to(bound) for bound in bounds):
            continue
        if entry.is_dir():
            if target not in entered:
                entered.add(target)
                _walk(path, bounds, entered, found, others)
            continue
        if entry.is_file():
            (found if path.suffix.lower() in SUPPORTED_SUFFIXES else others).append(path)
