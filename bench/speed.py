"""Measure end-to-end receipt speed, latency, memory and accuracy of the fast OCR settings against rapidocr's defaults.

Usage: python bench/speed.py [--folder ../shared/data/sroie-train] [--n 40] [--latency 20] [--long 0]

Every figure is file → validated, stored result, through the code the app and the CLI use:
- baseline: `RapidOCR()` as it comes (angle classifier on, default threads), one process, `import_bytes`
  file after file into its own store;
- project: `workbench.batch.import_folder` with the workbench's settings (one OCR worker per core, one
  inference thread each, OpenVINO, Latin recogniser) on the same files into another store;
- latency: `import_bytes` of one receipt with a warm engine (median of --latency files not stored yet),
  and of a re-upload (answered from the store by content hash);
- CPU seconds per receipt of each run (this process, its threads and its finished worker processes), which
  the other load of a shared machine does not inflate; `cores / CPU seconds` is the rate on idle cores;
- memory: proportional set size (PSS: pages shared by forked workers counted once) of this process and its
  worker processes summed, sampled every 0.25 s (a sample reads /proc/<pid>/smaps: 1.5 ms of CPU each);
  the bulk import runs first, in a fresh process;
  with --long N (a run of its own), N receipts with distinct bytes (SROIE images re-encoded) are imported
  and the memory at each tenth of the run is printed, to show that it stays flat;
- accuracy: per-field accuracy of both runs against the labels, with `workbench eval`'s normalisation.
Results from the SROIE data: CC BY 4.0, ICDAR 2019 Robust Reading Challenge on Scanned Receipts OCR and
Information Extraction (Huang et al., ICDAR 2019).
"""

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from PIL import Image

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from workbench.batch import ProgressEvent, import_bytes, import_folder  # noqa: E402
from workbench.config import Settings  # noqa: E402
from workbench.engines.ocr import OcrEngine  # noqa: E402
from workbench.evaluate.sroie import FIELD_MAP, is_right  # noqa: E402
from workbench.ocr import RapidOcrReader, describe  # noqa: E402
from workbench.store import Store  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sroie-train"


class MemorySampler:
    """Peak memory (PSS) of this process and all its children, sampled in a background thread."""

    def __init__(self, interval_s: float = 0.25) -> None:
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def current(self) -> int:
        main = psutil.Process()
        total = main.memory_full_info().pss
        for child in main.children(recursive=True):
            try:
                total += child.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def accuracy(results: dict[str, dict[str, object]], labels: Path) -> dict[str, float]:
    """Per-field share of right values; `results` maps an image stem to {receipt field: value}."""
    right = {name: [] for name in FIELD_MAP}
    for stem, values in results.items():
        fields = json.loads((labels / f"{stem}.json").read_text())["fields"]
        for label_name, field_name in FIELD_MAP.items():
            if fields.get(label_name, "").strip():
                right[label_name].append(is_right(label_name, values.get(field_name), fields[label_name]))
    return {name: sum(hits) / len(hits) for name, hits in right.items() if hits}


def stored_values(store: Store) -> dict[str, dict[str, object]]:
    """Field values of every stored document, by the file's stem."""
    values = {}
    for document in store.list():
        if document.current is not None:
            values[Path(document.file_name).stem] = {name: getattr(document.current, name).value
                                                    for name in FIELD_MAP.values()}
    return values


def cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes so far."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def run_baseline(files: list[Path], settings: Settings, workdir: Path) -> tuple[float, float, dict, int]:
    """rapidocr's defaults in one process: seconds, CPU seconds, field values, peak memory."""
    store = Store(workdir / "baseline.sqlite")
    engine = OcrEngine(settings, reader=RapidOcrReader.library_defaults(settings))
    import_bytes(files[0].read_bytes(), "warm-up", Store(workdir / "warmup.sqlite"), engine, settings)
    with MemorySampler() as memory:
        started, cpu = time.perf_counter(), cpu_seconds()
        for path in files:
            import_bytes(path.read_bytes(), path.name, store, engine, settings, "receipt")
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    values = stored_values(store)
    store.close()
    return seconds, cpu, values, memory.peak


def run_project(folder: Path, settings: Settings, db: Path,
                progress: object = None) -> tuple[float, float, Store, int]:
    """The bulk import as the CLI runs it: seconds, CPU seconds (workers included), the store, peak memory."""
    store = Store(db)
    with MemorySampler() as memory:
        cpu = cpu_seconds()
        report = import_folder(folder, store, settings, "ocr", "receipt", progress)  # type: ignore[arg-type]
        cpu = cpu_seconds() - cpu
    if report.failed:
        raise SystemExit(f"the bulk import failed on {report.failed} files: {report.errors[:3]}")
    return report.seconds, cpu, store, memory.peak


def latency(files: list[Path], settings: Settings, workdir: Path) -> tuple[float, float]:
    """Median seconds of one upload through `import_bytes` with a warm engine, and of a re-upload."""
    store = Store(workdir / "latency.sqlite")
    engine = OcrEngine(settings)
    import_bytes(files[-1].read_bytes(), "warm-up", store, engine, settings)
    fresh, again = [], []
    for path in files:
        data = path.read_bytes()
        started = time.perf_counter()
        import_bytes(data, path.name, store, engine, settings)
        fresh.append(time.perf_counter() - started)
        started = time.perf_counter()
        import_bytes(data, path.name, store, engine, settings)
        again.append(time.perf_counter() - started)
    store.close()
    return statistics.median(fresh), statistics.median(again)


def long_run(images: list[Path], count: int, settings: Settings, workdir: Path) -> None:
    """Import `count` receipts with distinct bytes and print memory at each tenth of the run."""
    folder = workdir / "long"
    folder.mkdir()
    for index in range(count):
        source = images[index % len(images)]
        buffer = io.BytesIO()
        Image.open(source).save(buffer, format="JPEG", quality=90 - index // len(images))
        (folder / f"{index:05d}-{source.name}").write_bytes(buffer.getvalue())
    sampler = MemorySampler()
    marks: list[str] = []

    def progress(event: ProgressEvent) -> None:
        if event.done % max(1, count // 10) == 0 or event.done == event.total:
            marks.append(f"{event.done}: {sampler.current() / 2**20:.0f} MiB")

    with sampler:
        seconds, _, store, _ = run_project(folder, settings, workdir / "long.sqlite", progress)
    store.close()
    print(f"long run: {count} receipts in {seconds:.0f} s ({count / seconds:.2f}/s), peak {sampler.peak / 2**20:.0f} MiB")
    print("  memory (main + workers) after N documents: " + ", ".join(marks))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=DATA, help="SROIE layout folder (images/, labels/)")
    parser.add_argument("--n", type=int, default=40, help="receipts in the throughput comparison")
    parser.add_argument("--latency", type=int, default=20, help="receipts in the single-upload median")
    parser.add_argument("--long", type=int, default=0,
                        help="run only the memory run on this many receipts (e.g. 1000); 0: the comparison")
    args = parser.parse_args(argv)
    images = sorted((args.folder / "images").glob("*.jpg"))
    if not images:
        raise SystemExit(f"{args.folder}: no images/*.jpg here (expected the SROIE layout)")
    settings = Settings()
    step = max(1, len(images) // args.n)
    files = images[::step][: args.n]
    print(f"{len(files)} receipts from {args.folder}, {os.cpu_count()} cores, "
          f"fast settings: {describe(settings)}, det side {settings.ocr_det_side}, rec batch {settings.ocr_rec_batch}, "
          f"rec min width {settings.ocr_rec_min_width}, "
          f"{settings.ocr_threads} thread(s) x {settings.workers or os.cpu_count()} worker(s)")
    sys.stdout.flush()
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        workdir = Path(tmp)
        if args.long:
            long_run(images, args.long, settings, workdir)
            return
        cores = os.cpu_count() or 1
        folder = workdir / "files"
        folder.mkdir()
        for path in files:
            shutil.copy(path, folder / path.name)
        fast_s, fast_cpu, store, fast_peak = run_project(folder, settings, workdir / "project.sqlite")
        fast_values = stored_values(store)
        store.close()
        print(f"project (import_folder, fast settings): {len(files) / fast_s:.2f} receipts/s "
              f"({fast_s / len(files):.2f} s each; {fast_cpu / len(files):.2f} CPU s each), "
              f"peak memory {fast_peak / 2**20:.0f} MiB")
        base_s, base_cpu, base_values, base_peak = run_baseline(files, settings, workdir)
        print(f"baseline (RapidOCR() defaults, 1 process): {len(files) / base_s:.2f} receipts/s "
              f"({base_s / len(files):.2f} s each; {base_cpu / len(files):.2f} CPU s each), "
              f"peak memory {base_peak / 2**20:.0f} MiB", flush=True)
        print(f"ratio: {base_s / fast_s:.2f}x by the clock; {base_cpu / fast_cpu:.2f}x by CPU time; "
              f"on {cores} idle cores the project would read {cores * len(files) / fast_cpu:.2f} receipts/s")
        latency_files = images[1::step][: args.latency]
        fresh, again = latency(latency_files, settings, workdir)
        print(f"single receipt (import_bytes, warm engine, median of {len(latency_files)}): {fresh:.2f} s;"
              f" re-upload (same bytes): {again * 1000:.1f} ms", flush=True)
        base_acc = accuracy(base_values, args.folder / "labels")
        fast_acc = accuracy(fast_values, args.folder / "labels")
        print("accuracy per field (default OCR → fast OCR): " + ", ".join(
            f"{name} {base_acc[name] * 100:.1f}% → {fast_acc[name] * 100:.1f}%" for name in base_acc))


if __name__ == "__main__":
    main()
