"""End to end in a real browser: upload, correct, approve, export and read back; a keyboard-only batch review;
the page image fitting its column at three window widths; a keyboard bulk approve.

With WORKBENCH_UPDATE_SCREENSHOTS=1 the screenshots named in README.md are also written to docs/screenshots/.
"""

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from schemas import DocumentResult, Extracted, Receipt, Source
from workbench.store import PageImage, Store

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"
DOC_SHOTS = {"review", "import", "export", "dashboard", "audit"}
UPDATE_SCREENSHOTS = os.environ.get("WORKBENCH_UPDATE_SCREENSHOTS") == "1"
SAMPLE = ROOT / "samples" / "receipt_de_bakery.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

TOTAL = re.compile(r"^(⚠ )?Total —")

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class App:
    """A `streamlit run` of the app on loopback with its own database, and the seconds it took to be ready."""

    def __init__(self, db: Path, log: Path) -> None:
        self.db = db
        self._log_path = log
        self._log = log.open("w")
        port = _free_port()
        env = {**os.environ, "WORKBENCH_DB": str(db), "WORKBENCH_USER": "e2e", "ORT_DISABLE_TELEMETRY": "1",
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        started = time.monotonic()
        self._server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{port}"
        while not self._healthy():
            if self._server.poll() is not None or time.monotonic() - started > 90:
                self.stop()
                raise RuntimeError(f"streamlit did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        self.ready_s = round(time.monotonic() - started, 2)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        self._server.terminate()
        self._server.wait(timeout=20)
        self._log.close()
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(self._log_path, ARTIFACTS / f"e2e-{self._log_path.parent.name}.log")


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Callable[[], App]]:
    """Start the app on a fresh database in this test's temporary folder (stopped afterwards)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    started: list[App] = []

    def start() -> App:
        started.append(App(tmp_path / "workbench.sqlite", tmp_path / "streamlit.log"))
        return started[-1]

    yield start
    for app in started:
        app.stop()


@pytest.fixture
def browser_page() -> Iterator[Page]:
    """A page of headless Debian chromium, 1600 px wide; a failing test leaves failure-<test>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1800}, accept_downloads=True)
        page.set_default_timeout(90_000)
        expect.set_options(timeout=90_000)
        yield page
        browser.close()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    if UPDATE_SCREENSHOTS and name in DOC_SHOTS:
        shutil.copy(ARTIFACTS / f"{name}.png", SCREENSHOTS / f"{name}.png")


def test_upload_review_correct_approve_export(start_app: Callable[[], App], browser_page: Page) -> None:
    page = browser_page
    app = start_app()
    timings: dict[str, float] = {"server_ready_s": app.ready_s}
    try:
        opened = time.monotonic()
        page.goto(app.url)
        expect(page.get_by_role("heading", name="Review")).to_be_visible()
        timings["first_page_s"] = round(time.monotonic() - opened, 2)
        expect(page.get_by_text("No documents yet")).to_be_visible()

        page.get_by_role("link", name="Import").click()
        expect(page.get_by_role("heading", name="Import documents")).to_be_visible()
        uploaded = time.monotonic()
        page.locator("input[type=file]").set_input_files(str(SAMPLE))
        expect(page.get_by_text("fields found")).to_be_visible()
        timings["upload_to_fields_s"] = round(time.monotonic() - uploaded, 2)
        _shot(page, "import")

        page.get_by_role("link", name="Review").click()
        expect(page.get_by_role("heading", name="receipt_de_bakery.png")).to_be_visible()
        total = page.get_by_role("textbox", name=TOTAL)
        expect(total).to_be_visible()
        expect(page.locator("[data-testid=stImage] img").first).to_be_visible()
        expect(page.get_by_text("Tax per rate")).to_be_visible()
        expect(page.get_by_text("Line items", exact=True)).to_be_visible()
        # Tall enough to show the page, the fields, tax per rate and line items in one picture.
        page.set_viewport_size({"width": 1600, "height": 2500})
        _settle(page)
        _shot(page, "review")
        page.set_viewport_size({"width": 1600, "height": 1800})

        # Keyboard only from the field on: Enter saves the form, Ctrl+Enter saves and approves.
        total.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("9.16")
        page.keyboard.press("Enter")
        expect(page.get_by_text("Saved 1 field")).to_be_visible()
        expect(page.get_by_role("textbox", name=TOTAL)).to_have_value("9.16")
        page.keyboard.press("Control+Enter")
        expect(page.get_by_text("approved.")).to_be_visible()
        _shot(page, "review-approved")

        page.get_by_role("link", name="Dashboard").click()
        expect(page.get_by_role("heading", name="Totals by month and currency")).to_be_visible()
        page.wait_for_timeout(2000)
        _shot(page, "dashboard")

        Store(app.db).set_mapping("category", "*", "e2e", account_code="4900", tax_code="Tax on Purchases",
                                  contra_account="1600")
        page.get_by_role("link", name="Export").click()
        expect(page.get_by_role("button", name="Download Xero bills CSV (1)")).to_be_enabled()
        button = page.get_by_role("button", name="Download Excel workbook")
        expect(button).to_be_enabled()
        _shot(page, "export")
        with page.expect_download() as download_info:
            button.click()
        workbook_path = ARTIFACTS / "e2e-export.xlsx"
        download_info.value.save_as(workbook_path)
        expect(page.get_by_text("recorded in the audit trail")).to_be_visible()

        page.get_by_role("link", name="Audit trail").click()
        expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
        page.wait_for_timeout(1000)
        _shot(page, "audit")
    except Exception:
        _shot(page, "failure-upload-review-export")
        raise

    (ARTIFACTS / "e2e-timings.json").write_text(json.dumps(timings, indent=1))
    workbook = load_workbook(io.BytesIO(workbook_path.read_bytes()))
    sheet = workbook["Documents"]
    headers = [cell.value for cell in sheet[1]]
    rows = [dict(zip(headers, (cell.value for cell in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 1
    assert rows[0]["file"] == "receipt_de_bakery.png"
    assert rows[0]["total"] == pytest.approx(9.16)
    actions = [(entry.action, entry.field, entry.user) for entry in Store(app.db).audit()]
    assert ("correct", "total", "e2e") in actions and ("status", "status", "e2e") in actions
    assert ("export", "xlsx", "e2e") in actions


def _settle(page: Page) -> None:
    """Wait until the page has been idle for a second: a shortcut pressed during a rerun can be lost."""
    quiet = 0
    while quiet < 4:
        page.wait_for_timeout(250)
        quiet = quiet + 1 if page.get_by_test_id("stStatusWidget").count() == 0 else 0


def _seed_batch(store: Store, count: int, wrong: set[int]) -> None:
    """`count` receipts with their page images; those in `wrong` have a misread total at low confidence."""
    image = io.BytesIO()
    Image.open(SAMPLE).convert("RGB").save(image, "JPEG")
    for index in range(count):
        low = index in wrong
        document = Receipt(
            merchant_name=Extracted(value=f"SHOP {index}", confidence=0.98, origin="ocr",
                                    source=Source(page=1, bbox=(200, 40, 420, 80))),
            date=Extracted(value=f"2024-09-{index + 1:02d}", confidence=0.97, origin="ocr"),
            total=Extracted(value="1.00" if low else f"{index + 10}.00", confidence=0.4 if low else 0.97,
                            origin="ocr", source=Source(page=1, bbox=(480, 600, 560, 630))),
            currency=Extracted(value="EUR", confidence=0.95, origin="ocr"),
        )
        result = DocumentResult(file=f"batch-{index:02d}.jpg", doc_type="receipt", engine="ocr", pages=1,
                                document=document, content_hash=f"batch-{index}")
        store.add(result, [PageImage(1, 640, 900, image.getvalue())], "seed")


@pytest.mark.xfail(strict=False, reason="open bug: under load, Save & approve (Ctrl+Enter) right after a correction "
                                       "is refused as a conflict with the correction's own new version (issue #17)")
def test_reviewing_a_ten_document_batch_by_keyboard_alone(start_app: Callable[[], App], browser_page: Page) -> None:
    """Ten documents, three with a misread total: counted keys and clicks until all ten are approved."""
    page = browser_page
    app = start_app()
    store = Store(app.db)
    _seed_batch(store, 10, wrong={2, 5, 8})
    keys = {"chords": 0, "typed": 0, "tab": 0}
    try:
        page.goto(app.url)
        # The grid is drawn last: once it is there the first run is over and the shortcuts are registered.
        expect(page.get_by_test_id("data-grid-canvas").first).to_be_visible()
        for index in range(10):
            expect(page.get_by_role("heading", name=f"batch-{index:02d}.jpg")).to_be_visible()
            _settle(page)
            if index in {2, 5, 8}:
                field = page.get_by_role("textbox", name="⚠ Total — 40% · ocr", exact=True)
                expect(field).to_have_value("1.00")
                # Focus stays where the last document left it: from the top of the page, Tab to "Skip to main
                # content", Enter, then Tab to the field; from below the field (its form's buttons), Shift+Tab.
                page.keyboard.press("Tab")
                keys["tab"] += 1
                step = "Tab"
                if page.evaluate("document.activeElement.dataset.testid") == "stSkipToContent":
                    page.keyboard.press("Enter")
                    keys["chords"] += 1
                elif page.evaluate("document.activeElement.closest('[data-testid=stForm]') !== null"):
                    step = "Shift+Tab"
                while not field.evaluate("element => element === document.activeElement"):
                    page.keyboard.press(step)
                    keys["tab"] += 1
                    assert keys["tab"] < 60, "Tab never reached the total field"
                page.keyboard.press("Control+A")
                page.keyboard.type(f"{index + 10}.00")
                keys["chords"] += 1
                keys["typed"] += len(f"{index + 10}.00")
            page.keyboard.press("Control+Enter")
            keys["chords"] += 1
        expect(page.get_by_text("Nothing left to review.")).to_be_visible()
        _shot(page, "review-batch-done")
    except Exception:
        _shot(page, "failure-keyboard-batch")
        raise
    documents = store.list()
    assert [d.status for d in documents] == ["approved"] * 10
    assert [str(d.current.total.value) for d in documents] == [f"{index + 10}.00" for index in range(10)]
    counts = {**keys, "clicks": 0, "documents": 10, "corrected": 3}
    (ARTIFACTS / "keyboard-review.json").write_text(json.dumps(counts, indent=1))


def _page_image_box(page: Page) -> dict[str, float]:
    """The shown page image and the column holding it: their boxes and the image's own pixel size."""
    image = page.locator("img[alt^='Page 1 of']").first
    expect(image).to_be_visible()
    return image.evaluate("""img => {
        const column = img.closest('[data-testid=stColumn]').getBoundingClientRect();
        const box = img.getBoundingClientRect();
        return {left: box.left, right: box.right, width: box.width, height: box.height,
                column_left: column.left, column_right: column.right, column_width: column.width,
                natural_width: img.naturalWidth, natural_height: img.naturalHeight,
                viewport: document.documentElement.clientWidth};
    }""")


def _seed_scan(store: Store) -> None:
    """A flatbed A4 scan (2480 × 3508 px) whose total sits at the right edge, boxed as the total's source."""
    scan = Image.new("RGB", (2480, 3508), "white")
    scan.paste((0, 0, 0), (2150, 3000, 2400, 3060))
    image = io.BytesIO()
    scan.save(image, "JPEG")
    document = Receipt(
        merchant_name=Extracted(value="FLATBED GMBH", confidence=0.98, origin="ocr"),
        date=Extracted(value="2024-09-01", confidence=0.97, origin="ocr"),
        total=Extracted(value="12.00", confidence=0.97, origin="ocr",
                        source=Source(page=1, bbox=(2150, 3000, 2400, 3060))),
        currency=Extracted(value="EUR", confidence=0.95, origin="ocr"),
    )
    store.add(DocumentResult(file="flatbed.jpg", doc_type="receipt", engine="ocr", pages=1, document=document,
                             content_hash="flatbed"), [PageImage(1, 2480, 3508, image.getvalue())], "seed")


@pytest.mark.parametrize("width", [1280, 1400, 1920])
def test_the_page_image_fits_its_column(start_app: Callable[[], App], browser_page: Page, width: int) -> None:
    page = browser_page
    app = start_app()
    store = Store(app.db)
    _seed_scan(store)
    page.set_viewport_size({"width": width, "height": 1000})
    try:
        page.goto(app.url)
        expect(page.get_by_role("heading", name="flatbed.jpg")).to_be_visible()
        _settle(page)
        box = _page_image_box(page)
        # The whole page is shown inside its column, filling it, drawn to scale: nothing on the right is cut off.
        assert box["column_left"] - 1 <= box["left"] and box["right"] <= box["column_right"] + 1, box
        assert box["width"] >= 0.9 * box["column_width"], box
        assert box["right"] <= box["viewport"], box
        assert box["height"] / box["width"] == pytest.approx(3508 / 2480, rel=0.02), box
        # The total's box (the zoomed field's colour) is still drawn around the amount at the right edge.
        shown = Image.open(io.BytesIO(page.locator("img[alt^='Page 1 of']").first.screenshot())).convert("RGB")
        scale = shown.width / 2480
        window = [shown.getpixel((x, y)) for x in range(int(2140 * scale), int(2410 * scale))
                  for y in range(int(2985 * scale), int(2998 * scale))]
        assert any(max(pixel) - min(pixel) > 80 for pixel in window), "no coloured box above the total"

        # Magnified twice and panned to the bottom right: the amount is shown large, still inside the column.
        page.get_by_role("slider", name="Magnify the page").focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        expect(page.get_by_text("Page 1 of 1 · 2×").first).to_be_visible()
        _settle(page)
        for name in ("Pan across", "Pan down"):
            page.get_by_role("slider", name=name).focus()
            page.keyboard.press("End")
            _settle(page)
        magnified = _page_image_box(page)
        assert magnified["right"] <= magnified["column_right"] + 1 and magnified["natural_width"] == 1240
        _shot(page, f"review-fit-{width}")
    except Exception:
        _shot(page, f"failure-fit-{width}")
        raise


def test_bulk_approve_by_keyboard(start_app: Callable[[], App], browser_page: Page) -> None:
    """Search the grid, select all shown with Space, approve them with Alt+A: keys only after focusing search."""
    page = browser_page
    app = start_app()
    store = Store(app.db)
    _seed_batch(store, 6, wrong=set())
    try:
        page.goto(app.url)
        expect(page.get_by_test_id("data-grid-canvas").first).to_be_visible()
        _settle(page)
        search = page.get_by_role("textbox", name="Search")
        search.focus()
        page.keyboard.type("batch-05")
        page.keyboard.press("Enter")
        expect(page.get_by_text("Select all 1 shown")).to_be_visible()
        page.keyboard.press("Control+A")
        page.keyboard.type("batch")
        page.keyboard.press("Enter")
        expect(page.get_by_text("Select all 6 shown")).to_be_visible()
        _settle(page)
        select_all = page.get_by_role("checkbox", name="Select all 6 shown")
        tabs = 0
        while not select_all.evaluate("element => element === document.activeElement"):
            page.keyboard.press("Tab")
            tabs += 1
            assert tabs < 30, "Tab never reached the select-all box"
        page.keyboard.press("Space")
        expect(page.get_by_role("button", name="Approve selected (6)")).to_be_enabled()
        _settle(page)
        page.keyboard.press("Alt+A")
        expect(page.get_by_text("Approved: #1, #2, #3, #4, #5, #6.")).to_be_visible()
        _shot(page, "review-bulk-approved")
    except Exception:
        _shot(page, "failure-bulk-approve")
        raise
    assert [d.status for d in store.list()] == ["approved"] * 6
    assert {e.user for e in store.audit() if e.action == "status"} == {"e2e"}
