"""End to end in a real browser: upload a sample, see its fields, correct one, approve, export, read the workbook."""

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
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
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


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served by `streamlit run` on loopback with its own empty database; stopped afterwards."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = {**os.environ, "WORKBENCH_DB": str(folder / "workbench.sqlite"), "WORKBENCH_USER": "e2e",
           "ORT_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    log = (folder / "streamlit.log").open("w")
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() - started > 60:
                raise RuntimeError(f"streamlit did not start: {(folder / 'streamlit.log').read_text()[-2000:]}")
            time.sleep(0.2)
        os.environ["E2E_SERVER_STARTED"] = str(started)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(folder / "streamlit.log", ARTIFACTS / "e2e-streamlit.log")


def test_upload_review_correct_approve_export(app_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    timings: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1800}, accept_downloads=True)
        page.set_default_timeout(90_000)
        expect.set_options(timeout=90_000)

        try:
            page.goto(app_url)
            expect(page.get_by_role("heading", name="Review")).to_be_visible()
            timings["first_page_s"] = round(time.monotonic() - float(os.environ["E2E_SERVER_STARTED"]), 2)
            expect(page.get_by_text("No documents yet")).to_be_visible()

            page.get_by_role("link", name="Import").click()
            expect(page.get_by_role("heading", name="Import documents")).to_be_visible()
            uploaded = time.monotonic()
            page.locator("input[type=file]").set_input_files(str(SAMPLE))
            expect(page.get_by_text("fields found")).to_be_visible()
            timings["upload_to_fields_s"] = round(time.monotonic() - uploaded, 2)
            page.screenshot(path=ARTIFACTS / "import.png", full_page=True)

            page.get_by_role("link", name="Review").click()
            expect(page.get_by_role("heading", name="receipt_de_bakery.png")).to_be_visible()
            total = page.get_by_role("textbox", name=TOTAL)
            expect(total).to_be_visible()
            expect(page.locator("[data-testid=stImage] img").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "review.png", full_page=True)

            # Keyboard only from the field on: Enter saves the form, Ctrl+Enter saves and approves.
            total.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("9.16")
            page.keyboard.press("Enter")
            expect(page.get_by_text("Saved 1 field")).to_be_visible()
            expect(page.get_by_role("textbox", name=TOTAL)).to_have_value("9.16")
            page.get_by_role("textbox", name=TOTAL).focus()
            page.keyboard.press("Control+Enter")
            expect(page.get_by_text("approved.")).to_be_visible()
            page.screenshot(path=ARTIFACTS / "review-approved.png", full_page=True)

            page.get_by_role("link", name="Dashboard").click()
            expect(page.get_by_role("heading", name="Totals by month and currency")).to_be_visible()
            page.wait_for_timeout(1500)
            page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)

            page.get_by_role("link", name="Export").click()
            button = page.get_by_role("button", name="Download Excel workbook")
            expect(button).to_be_enabled()
            page.screenshot(path=ARTIFACTS / "export.png", full_page=True)
            with page.expect_download() as download_info:
                button.click()
            workbook_path = ARTIFACTS / "e2e-export.xlsx"
            download_info.value.save_as(workbook_path)
            expect(page.get_by_text("recorded in the audit trail")).to_be_visible()

            page.get_by_role("link", name="Audit trail").click()
            expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
            page.wait_for_timeout(1000)
            page.screenshot(path=ARTIFACTS / "audit.png", full_page=True)
        except Exception:
            page.screenshot(path=ARTIFACTS / "failure.png", full_page=True)
            raise
        browser.close()

    (ARTIFACTS / "e2e-timings.json").write_text(json.dumps(timings, indent=1))
    workbook = load_workbook(io.BytesIO(workbook_path.read_bytes()))
    sheet = workbook["Documents"]
    headers = [cell.value for cell in sheet[1]]
    rows = [dict(zip(headers, (cell.value for cell in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 1
    assert rows[0]["file"] == "receipt_de_bakery.png"
    assert rows[0]["total"] == pytest.approx(9.16)
