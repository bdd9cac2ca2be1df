"""A fake engine for tests, registered like a real one; run as a script it is the `workbench` CLI with it.

It reads a receipt whose merchant is the file's name and whose total is the page width in cents (dated 2024-01-15), so each
result can be checked. Names containing `boom` raise an unexpected error; `die` ends the process at once
(as a crash in native code would). FAKE_ENGINE_DELAY (seconds) slows each read down;
FAKE_ENGINE_IN_PROCESSES=1 makes `import` read it in worker processes as it does OCR.
"""

import datetime as dt
import os
import sys
import time
from decimal import Decimal
from typing import Literal

from schemas import DocType, Extracted, Receipt, SourceDocument, Source
from workbench.config import Settings
from workbench.engines import register

NAME = "fake"


class FakeEngine:
    """Reads the file name and the first page's width; counts its reads."""

    name = NAME

    def __init__(self, settings: Settings) -> None:
        self.reads = 0
        self.delay = float(os.environ.get("FAKE_ENGINE_DELAY", "0"))

    def read(self, source: SourceDocument, doc_type: DocType | Literal["auto"]) -> Receipt:
        self.reads += 1
        if "boom" in source.name:
            raise RuntimeError("the fake engine blew up")
        if "die" in source.name:
            os._exit(9)
        if self.delay:
            time.sleep(self.delay)
        width = source.pages[0].image.width if source.pages else 0
        return Receipt(
            merchant_name=Extracted(value=os.path.basename(source.name)[:200], confidence=0.95, origin="ocr",
                                    source=Source(page=1, bbox=(1, 2, 3, 4), text=source.name[:1000])),
            total=Extracted(value=Decimal(width) / 100, confidence=0.5, origin="ocr"),
            currency=Extracted(value="EUR", confidence=0.9, origin="ocr"),
            date=Extracted(value=dt.date(2024, 1, 15), confidence=0.9, origin="ocr"),
        )


def register_fake() -> None:
    """Make the fake engine available as "fake"."""
    register(NAME, FakeEngine)


register_fake()

if __name__ == "__main__":
    from workbench import batch
    from workbench.cli import main

    if os.environ.get("FAKE_ENGINE_IN_PROCESSES"):
        batch.PROCESS_ENGINES = frozenset({NAME})

    sys.exit(main(sys.argv[1:]))
