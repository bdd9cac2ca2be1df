"""iter_files: supported files under a folder, sorted, skipping hidden ones, kept inside the allowed roots."""

from pathlib import Path

import pytest

from workbench.config import Settings
from workbench.errors import InputError
from workbench.ingest import iter_files


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    for name in ("b.PDF", "a.jpg", "sub/c.png", "sub/deeper/d.xml", "e.tiff", "notes.txt", "letter.docx",
                 ".hidden.png", ".cache/f.jpg", "sub/.g.webp"):
        touch(folder / name)
    return folder


def test_lists_supported_files_sorted_and_skips_hidden(inbox: Path) -> None:
    found = [path.relative_to(inbox).as_posix() for path in iter_files(inbox, Settings())]
    assert found == ["a.jpg", "b.PDF", "e.tiff", "sub/c.png", "sub/deeper/d.xml"]


def test_paths_keep_the_folder_as_given(inbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(inbox.parent)
    assert next(iter_files(Path("inbox"), Settings())) == Path("inbox/a.jpg")


def test_folder_outside_the_roots_is_refused_naming_them(inbox: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "allowed"
    elsewhere.mkdir()
    with pytest.raises(InputError, match=f"outside the folders import may read \\({elsewhere}\\).*WORKBENCH_ROOTS"):
        iter_files(inbox, Settings(roots=[elsewhere]))
    assert len(list(iter_files(inbox / "sub", Settings(roots=[tmp_path])))) == 2


def test_symlinks_out_of_the_folder_are_not_followed(inbox: Path, tmp_path: Path) -> None:
    outside = tmp_path / "private"
    touch(outside / "salary.pdf")
    (inbox / "link-to-file.pdf").symlink_to(outside / "salary.pdf")
    (inbox / "link-to-dir").symlink_to(outside, target_is_directory=True)
    names = {path.name for path in iter_files(inbox, Settings())}
    assert "salary.pdf" not in names and "link-to-file.pdf" not in names
    # With a root that holds both, the same links are inside and followed.
    names = {path.name for path in iter_files(inbox, Settings(roots=[tmp_path]))}
    assert {"salary.pdf", "link-to-file.pdf"} <= names


def test_symlinks_inside_are_followed_once_without_looping(inbox: Path) -> None:
    (inbox / "sub" / "loop").symlink_to(inbox, target_is_directory=True)
    (inbox / "alias.jpg").symlink_to(inbox / "a.jpg")
    found = [path.relative_to(inbox).as_posix() for path in iter_files(inbox, Settings())]
    assert found == ["a.jpg", "alias.jpg", "b.PDF", "e.tiff", "sub/c.png", "sub/deeper/d.xml"]


def test_missing_folder_and_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        iter_files(tmp_path / "nope", Settings())
    with pytest.raises(InputError, match="is not a folder"):
        iter_files(touch(tmp_path / "a.jpg"), Settings())
