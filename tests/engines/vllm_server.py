"""A real vLLM CPU server on loopback serving the tiny random Qwen3-VL, started once per test session."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("WORKBENCH_VLLM_VENV", REPO / ".venv-vllm"))
VLLM = VENV / "bin" / "vllm"
READY_TIMEOUT_S = float(os.environ.get("WORKBENCH_VLLM_READY_TIMEOUT_S", "900"))
ATTACH_PORT = os.environ.get("WORKBENCH_VLLM_TEST_PORT")
"""Port of a tiny-model server already running on 127.0.0.1 (started with `command()`'s flags) to reuse."""
SERVED_NAME = "tiny-qwen3-vl"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class VllmServer:
    """One `vllm serve` process (and its engine-core children, in their own process group) on a fixed port."""

    def __init__(self, model_dir: Path, port: int, log_path: Path, max_num_seqs: int = 8) -> None:
        self.model_dir = model_dir
        self.port = port
        self.log_path = log_path
        self.max_num_seqs = max_num_seqs
        self.process: subprocess.Popen[bytes] | None = None
        self.starts: list[float] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model(self) -> str:
        return SERVED_NAME

    def command(self) -> list[str]:
        return [
            str(VLLM), "serve", str(self.model_dir),
            "--served-model-name", SERVED_NAME,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--max-model-len", "4096",
            "--dtype", "float32",
            "--limit-mm-per-prompt", '{"image":1,"video":0}',
            "--enforce-eager",
            "--skip-mm-profiling",
            "--max-num-seqs", str(self.max_num_seqs),
            "--structured-outputs-config", '{"backend":"xgrammar","disable_any_whitespace":true}',
        ]

    def start(self) -> float:
        """Start the server and wait until it answers a chat request; return the seconds it took."""
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", VLLM_CPU_KVCACHE_SPACE="1",
                   VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1", VLLM_LOGGING_LEVEL="WARNING")
        env.pop("VIRTUAL_ENV", None)
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                                            cwd=self.log_path.parent, start_new_session=True)
        self._wait_ready(began)
        seconds = time.monotonic() - began
        self.starts.append(seconds)
        return seconds

    def _wait_ready(self, began: float) -> None:
        with httpx.Client(timeout=5) as client:
            while time.monotonic() - began < READY_TIMEOUT_S:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"vllm serve exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    if client.get(f"http://127.0.0.1:{self.port}/v1/models").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(1)
            else:
                self.kill()
                raise RuntimeError(f"vllm serve was not ready after {READY_TIMEOUT_S:.0f} s:\n{self.log_tail()}")
        # "Ready" does not prove that a request works (the CPU attention backend fails only on the first one).
        answer = httpx.post(f"{self.base_url}/chat/completions", timeout=READY_TIMEOUT_S, json={
            "model": SERVED_NAME, "max_tokens": 2,
            "messages": [{"role": "user", "content": "hi"}],
        })
        if answer.status_code != 200:
            raise RuntimeError(f"warm-up request failed: {answer.status_code} {answer.text[:500]}\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the server's whole process group, as a crash would."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL what is left after 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory: pytest.TempPathFactory, tiny_qwen_dir: Path) -> Iterator[VllmServer]:
    """The session's vLLM server on 127.0.0.1 serving the tiny random Qwen3-VL; skipped when .venv-vllm is absent."""
    if ATTACH_PORT:
        yield VllmServer(tiny_qwen_dir, int(ATTACH_PORT), tmp_path_factory.mktemp("vllm") / "vllm.log")
        return
    if not VLLM.exists():
        pytest.skip(f"{VLLM} is absent: run scripts/setup_vllm.sh to test against a real vLLM server")
    server = VllmServer(tiny_qwen_dir, free_port(), tmp_path_factory.mktemp("vllm") / "vllm.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
