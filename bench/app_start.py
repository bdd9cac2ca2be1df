"""Seconds from starting the app to its first page in a browser, and from an upload to the fields shown.

Usage: python bench/app_start.py [--runs 3]

Each run starts `streamlit run streamlit_app.py` on loopback with an empty database in a temporary folder,
opens it in headless Debian chromium (Playwright, /usr/bin/chromium) and prints:
- server ready: process start → the health endpoint answers;
- first page: process start → the Review page's heading is drawn in the browser;
- upload to fields: a receipt dropped on the Import page → its fields are shown (the reading engine is
  built on this first upload, once per server process, behind st.cache_resource);
- second upload: another receipt → its fields shown, with the engine already built.
Medians over the runs come last. Needs the test extras (playwright) and Debian's chromium (scripts/setup.sh
--test installs both).
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
UPLOADS = (ROOT / "samples" / "receipt_de_bakery.png", ROOT / "samples" / "receipt_us_diner.jpg")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def one_run(workdir: Path) -> dict[str, float]:
    """Start the app on a fresh database, drive it in the browser, return the timings of this run."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "WORKBENCH_DB": str(workdir / "workbench.sqlite"), "ORT_DISABLE_TELEMETRY": "1",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    timings: dict[str, float] = {}
    with sync_playwright() as playwright, (workdir / "streamlit.log").open("w") as log:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        expect.set_options(timeout=90_000)
        started = time.monotonic()
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while not _healthy(url):
                if server.poll() is not None or time.monotonic() - started > 90:
                    raise SystemExit(f"streamlit did not start; see {workdir / 'streamlit.log'}")
                time.sleep(0.05)
            timings["server ready"] = time.monotonic() - started
            page.goto(url)
            expect(page.get_by_role("heading", name="Review")).to_be_visible()
            timings["first page"] = time.monotonic() - started
            page.get_by_role("link", name="Import").click()
            expect(page.get_by_role("heading", name="Import documents")).to_be_visible()
            for label, upload in zip(("upload to fields", "second upload"), UPLOADS):
                uploaded = time.monotonic()
                page.locator("input[type=file]").set_input_files(str(upload))
                expect(page.get_by_text(f"{upload.name}").first).to_be_visible()
                expect(page.get_by_text("fields found").nth(UPLOADS.index(upload))).to_be_visible()
                timings[label] = time.monotonic() - uploaded
        finally:
            server.terminate()
            server.wait(timeout=20)
            browser.close()
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit("Debian chromium is missing: run `bash scripts/setup.sh --test` (it installs it)")
    runs = []
    for number in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
            runs.append(one_run(Path(tmp)))
        print(f"run {number}: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in runs[-1].items()),
              flush=True)
    print("median: " + ", ".join(f"{name} {statistics.median(run[name] for run in runs):.2f} s"
                                 for name in runs[0]))


if __name__ == "__main__":
    main()
