"""Load a file or an upload into a SourceDocument: upright RGB pages, the PDF text layer, e-invoice XML."""

from workbench.ingest.files import iter_files
from workbench.ingest.load import SUPPORTED_SUFFIXES, content_hash, load_bytes, load_path

__all__ = ["SUPPORTED_SUFFIXES", "content_hash", "iter_files", "load_bytes", "load_path"]
