"""A loopback HTTP proxy in front of a real server that delays, fails or rewrites chosen requests."""

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


@dataclass(frozen=True)
class Fault:
    """What the proxy does with one request: wait `delay_s` first, then answer `status` itself or pass it on.

    `rewrite` changes the upstream answer's body (to send back invalid JSON, for example).
    """

    delay_s: float = 0.0
    status: int | None = None
    body: bytes = b'{"error": {"message": "injected by the test proxy", "type": "server_error"}}'
    rewrite: Callable[[bytes], bytes] | None = None


PASS = Fault()

Rule = Callable[[int, str, bytes], Fault]
"""(n-th chat request seen, starting at 1; path; request body) -> the fault to apply."""


class FaultProxy:
    """Forwards every request to the host of `upstream` (a base URL); chat completions go through `rule` first."""

    def __init__(self, upstream: str, rule: Rule = lambda n, path, body: PASS) -> None:
        url = httpx.URL(upstream)
        self.upstream = f"{url.scheme}://{url.netloc.decode()}"
        self.path = url.path.rstrip("/")
        self.rule = rule
        self.chat_requests = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.bodies: list[bytes] = []
        self.authorizations: list[str | None] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=600)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def body_hashes(self) -> list[str]:
        """sha256 of every chat request body seen, in arrival order."""
        with self._lock:
            return [hashlib.sha256(body).hexdigest() for body in self.bodies]

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        if not path.endswith("/chat/completions"):
            return self._answer(PASS, method, path, headers, body)
        with self._lock:
            self.chat_requests += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            n = self.chat_requests
            self.bodies.append(body)
            self.authorizations.append(next((v for k, v in headers.items() if k.lower() == "authorization"), None))
        try:
            return self._answer(self.rule(n, path, body), method, path, headers, body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(self, fault: Fault, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], bytes]:
        if fault.delay_s:
            time.sleep(fault.delay_s)
        if fault.status is not None:
            return fault.status, {"content-type": "application/json"}, fault.body
        keep = {k: v for k, v in headers.items() if k.lower() in ("content-type", "authorization", "accept")}
        answer = self._client.request(method, self.upstream + path, headers=keep, content=body)
        content = answer.content if fault.rewrite is None else fault.rewrite(answer.content)
        return answer.status_code, {"content-type": answer.headers.get("content-type", "application/json")}, content


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                status, headers, content = proxy.forward(self.command, self.path, dict(self.headers), body)
            except httpx.TransportError as error:
                status, headers, content = 502, {"content-type": "text/plain"}, f"upstream: {error}".encode()
            try:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (its timeout ran out while the proxy was delaying): nobody to answer.
                self.close_connection = True

        do_GET = do_POST = _relay

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler
