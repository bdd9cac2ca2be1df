"""The OpenAI-compatible engine against a real vLLM server (tiny random Qwen3-VL): reads, bulk, faults."""

import base64
import io
import json
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from schemas import Extracted, Invoice, Page, Receipt, SourceDocument, TextLine
from tests.engines.fault_proxy import PASS, Fault, FaultProxy
from tests.engines.vllm_server import VllmServer, vllm_server  # noqa: F401  (the session fixture)
from workbench.batch import ProgressEvent, import_folder
from workbench.config import Settings
from workbench.engines import create_engine, register, vlm_output
from workbench.engines.openai_compatible import OpenAICompatibleEngine
from workbench.errors import ConfigError, EngineError
from workbench.store import Store

pytestmark = pytest.mark.vllm

# Random weights never close a long string: a small text bound keeps every answer within the token budget.
TEXT_CAP = 4
PIXEL_BUDGET = 128 * 128


def settings_for(base_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"openai_base_url": base_url, "openai_model": "tiny-qwen3-vl",
                                 "openai_timeout_s": 300.0, "openai_concurrency": 4, "openai_retries": 2,
                                 "vlm_pixel_budget": PIXEL_BUDGET, "vlm_max_new_tokens": 1024}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def engine_for(base_url: str, **overrides: object) -> OpenAICompatibleEngine:
    return OpenAICompatibleEngine(settings_for(base_url, **overrides), use_ocr=False, text_cap=TEXT_CAP)


def document(number: int, text_layer: bool = False) -> SourceDocument:
    image = Image.new("RGB", (300 + number % 7 * 10, 420), "white")
    draw = ImageDraw.Draw(image)
    draw.text((20, 20), f"SHOP {number}", fill="black")
    draw.text((20, 380), f"TOTAL {number}.50", fill="black")
    lines = [TextLine(text=f"SHOP {number}", bbox=(20, 20, 80, 32)),
             TextLine(text=f"TOTAL {number}.50", bbox=(20, 380, 110, 392))] if text_layer else None
    return SourceDocument(name=f"receipt-{number}.png", media_type="image/png", content_hash=f"hash-{number}",
                          pages=[Page(number=1, image=image, text_lines=lines)])


def extracted_fields(document: Receipt | Invoice) -> Iterator[Extracted]:  # type: ignore[type-arg]
    for value in document.__dict__.values():
        if isinstance(value, Extracted):
            yield value
        elif hasattr(value, "__dict__") and not isinstance(value, list):
            yield from (item for item in value.__dict__.values() if isinstance(item, Extracted))


@pytest.fixture(scope="module")
def latency_s(vllm_server: VllmServer) -> float:  # noqa: F811
    """Seconds one plain read takes on this machine now (fault timeouts are set relative to it)."""
    engine = engine_for(vllm_server.base_url)
    began = time.monotonic()
    engine.read(document(0), "receipt")
    return time.monotonic() - began


def test_reads_every_document_type_with_token_confidence(vllm_server: VllmServer) -> None:  # noqa: F811
    assert isinstance(create_engine("openai", settings_for(vllm_server.base_url)), OpenAICompatibleEngine)
    # OCR on (the default), as for an image without a text layer: a value the page does not show is capped.
    ocr_engine = OpenAICompatibleEngine(settings_for(vllm_server.base_url), text_cap=TEXT_CAP)
    for field in extracted_fields(ocr_engine.read(document(19), "receipt")):
        assert field.value is None or field.source is not None or field.confidence <= vlm_output.OCR_MISS_CAP
    engine = engine_for(vllm_server.base_url)
    for doc_type, expected in (("receipt", Receipt), ("invoice", Invoice), ("auto", (Receipt, Invoice))):
        result = engine.read(document(1, text_layer=True), doc_type)  # type: ignore[arg-type]
        assert isinstance(result, expected)
        type(result).model_validate(result.model_dump())
        fields = list(extracted_fields(result))
        assert fields and all(field.origin == "vlm" and 0.0 <= field.confidence <= 1.0 for field in fields)
        # Token logprobs, not the no-logprob default, decided the confidences.
        assert any(field.confidence != vlm_output.NO_LOGPROB_CONFIDENCE for field in fields)


def test_request_carries_key_prompt_scaled_image_schema_and_logprobs(vllm_server: VllmServer) -> None:  # noqa: F811
    with FaultProxy(vllm_server.base_url) as proxy:
        engine_for(proxy.base_url, openai_api_key="sk-test-key").read(document(2), "invoice")
    assert proxy.authorizations == ["Bearer sk-test-key"]
    body = json.loads(proxy.bodies[0])
    text, image = body["messages"][0]["content"]
    assert text == {"type": "text", "text": vlm_output.prompt("invoice")}
    header, data = image["image_url"]["url"].split(",", 1)
    assert header == "data:image/jpeg;base64"
    sent = Image.open(io.BytesIO(base64.b64decode(data)))
    assert sent.width * sent.height <= PIXEL_BUDGET and sent.width % 32 == 0 and sent.height % 32 == 0
    assert body["response_format"]["json_schema"]["schema"] == vlm_output.output_schema("invoice", TEXT_CAP)
    assert body["logprobs"] is True and body["top_logprobs"] >= 1 and body["temperature"] == 0.0


def test_bulk_keeps_order_reports_progress_and_sends_each_hash_once(vllm_server: VllmServer) -> None:  # noqa: F811
    sources = [document(n) for n in (3, 4, 3, 5, 4, 6)]
    progress: list[tuple[int, int]] = []
    with FaultProxy(vllm_server.base_url) as proxy:
        outcomes = engine_for(proxy.base_url).read_many(sources, "receipt", progress=lambda d, t: progress.append((d, t)))
    assert proxy.chat_requests == 4
    assert all(isinstance(outcome, Receipt) for outcome in outcomes)
    assert outcomes[0] == outcomes[2] and outcomes[1] == outcomes[4]
    assert sorted(progress) == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert outcomes[0] == engine_for(vllm_server.base_url).read(document(3), "receipt")  # greedy: repeatable


def test_stream_yields_each_document_as_it_finishes(vllm_server: VllmServer) -> None:  # noqa: F811
    pulled: list[int] = []

    def lazily() -> Iterator[SourceDocument]:
        for number in (7, 8, 7, 9):
            pulled.append(number)
            yield document(number)

    with FaultProxy(vllm_server.base_url) as proxy:
        results = list(engine_for(proxy.base_url, openai_concurrency=2).read_stream(lazily(), "receipt"))
    assert sorted(source.name for source, _ in results) == sorted(f"receipt-{n}.png" for n in (7, 8, 7, 9))
    assert all(isinstance(outcome, Receipt) for _, outcome in results)
    assert pulled == [7, 8, 7, 9] and proxy.chat_requests == 3


def test_folder_import_keeps_requests_in_flight_and_never_resends_stored_documents(
        vllm_server: VllmServer, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "inbox"
    folder.mkdir()
    for number in range(40, 46):
        document(number).pages[0].image.save(folder / f"receipt-{number}.png")
    (folder / "copy.png").write_bytes((folder / "receipt-40.png").read_bytes())
    with FaultProxy(vllm_server.base_url) as proxy:
        settings = settings_for(proxy.base_url, openai_concurrency=3, db=tmp_path / "w.sqlite")
        register("openai-test", lambda s: OpenAICompatibleEngine(s, text_cap=TEXT_CAP))
        with closing(Store(settings.db)) as store:
            events: list[ProgressEvent] = []
            first = import_folder(folder, store, settings, "openai-test", "receipt", progress=events.append)
            again = import_folder(folder, store, settings, "openai-test", "receipt")
            stored = store.list()
    assert (first.imported, first.skipped_duplicates, first.failed) == (6, 1, 0), first.errors
    assert proxy.chat_requests == 6 and proxy.peak_in_flight >= 2
    assert (again.imported, again.skipped_duplicates) == (0, 7) and proxy.chat_requests == 6
    assert [event.done for event in events] == list(range(1, 8))
    assert len(stored) == 6 and all(item.engine == "openai" and item.original is not None for item in stored)


def test_a_500_is_retried_and_a_lasting_500_fails_only_its_document(vllm_server: VllmServer) -> None:  # noqa: F811
    bad = document(11)
    marker = _image_marker(bad)
    fail_first_two = Fault(status=500)

    def rule(n: int, path: str, body: bytes) -> Fault:
        if marker in body:
            return Fault(status=500)
        return fail_first_two if n <= 2 else PASS

    with FaultProxy(vllm_server.base_url, rule) as proxy:
        outcomes = engine_for(proxy.base_url, openai_retries=3, openai_concurrency=1).read_many(
            [document(10), bad, document(12)], "receipt")
    assert isinstance(outcomes[0], Receipt) and isinstance(outcomes[2], Receipt)
    error = outcomes[1]
    assert isinstance(error, EngineError)
    assert "receipt-11.png" in error.user_message and "failed 4 times" in error.user_message
    assert "HTTP 500" in error.user_message and "injected by the test proxy" in error.user_message
    assert proxy.chat_requests == 2 + 1 + 4 + 1


def test_a_client_error_is_not_retried(vllm_server: VllmServer) -> None:  # noqa: F811
    rule = lambda n, path, body: Fault(status=400, body=b'{"error": {"message": "image too large"}}')  # noqa: E731
    with FaultProxy(vllm_server.base_url, rule) as proxy:
        with pytest.raises(EngineError, match=r"receipt-13.png: .* refused the request: HTTP 400: image too large"):
            engine_for(proxy.base_url).read(document(13), "receipt")
    assert proxy.chat_requests == 1


def test_a_real_server_error_is_a_clear_document_error(vllm_server: VllmServer) -> None:  # noqa: F811
    engine = OpenAICompatibleEngine(settings_for(vllm_server.base_url, openai_model="no-such-model"))
    with pytest.raises(EngineError, match=r"receipt-14.png: .*HTTP 404.*WORKBENCH_OPENAI_MODEL"):
        engine.read(document(14), "receipt")


def test_slow_answers_time_out_then_retry(vllm_server: VllmServer, latency_s: float) -> None:  # noqa: F811
    timeout = max(3.0, 3 * latency_s)
    slow = Fault(delay_s=timeout + 1, status=500)
    slow_first = lambda n, path, body: slow if n == 1 else PASS  # noqa: E731
    with FaultProxy(vllm_server.base_url, slow_first) as proxy:
        result = engine_for(proxy.base_url, openai_timeout_s=timeout).read(document(15), "receipt")
    assert isinstance(result, Receipt) and proxy.chat_requests == 2

    with FaultProxy(vllm_server.base_url, lambda n, path, body: slow) as proxy:
        began = time.monotonic()
        with pytest.raises(EngineError, match=rf"receipt-16.png: .*failed 2 times.*no answer within {timeout:g} s"):
            engine_for(proxy.base_url, openai_timeout_s=timeout, openai_retries=1).read(document(16), "receipt")
    assert proxy.chat_requests == 2 and time.monotonic() - began < 2 * timeout + 5


def test_invalid_json_from_the_server_is_a_document_error(vllm_server: VllmServer) -> None:  # noqa: F811
    def break_answer(content: bytes) -> bytes:
        completion = json.loads(content)
        completion["choices"][0]["message"]["content"] = '{"merchant": "unterminated'
        completion["choices"][0]["logprobs"] = None
        return json.dumps(completion).encode()

    with FaultProxy(vllm_server.base_url, lambda n, path, body: Fault(rewrite=break_answer)) as proxy:
        with pytest.raises(EngineError, match=r"receipt-17.png: the model's answer is not valid JSON"):
            engine_for(proxy.base_url).read(document(17), "receipt")
    with FaultProxy(vllm_server.base_url, lambda n, path, body: Fault(rewrite=lambda _: b"<html>oops")) as proxy:
        with pytest.raises(EngineError, match=r"receipt-18.png: .*(unreadable|without a choice)"):
            engine_for(proxy.base_url).read(document(18), "receipt")
    assert proxy.chat_requests == 1


def test_settings_are_checked_and_the_key_never_shows() -> None:
    with pytest.raises(ConfigError, match="WORKBENCH_OPENAI_BASE_URL"):
        OpenAICompatibleEngine(settings_for("localhost:8000/v1"))
    engine = OpenAICompatibleEngine(settings_for("http://127.0.0.1:9/v1", openai_api_key="sk-secret-123"))
    assert "sk-secret-123" not in repr(engine) and "sk-secret-123" not in repr(engine.settings)


@pytest.mark.slow
def test_server_killed_mid_batch_fails_the_rest_clearly_and_a_restart_reads_them(
        vllm_server: VllmServer, tmp_path: Path) -> None:  # noqa: F811
    if vllm_server.process is None:
        pytest.skip("attached to a server this session did not start (WORKBENCH_VLLM_TEST_PORT): cannot kill it")
    engine = engine_for(vllm_server.base_url, openai_concurrency=2, openai_retries=2)
    sources = [document(n) for n in range(20, 32)]
    outcomes: dict[str, object] = {}
    for source, outcome in engine.read_stream(iter(sources), "receipt"):
        outcomes[source.name] = outcome
        if len(outcomes) == 3:
            vllm_server.kill()
    done = [name for name, outcome in outcomes.items() if isinstance(outcome, Receipt)]
    failed = [name for name, outcome in outcomes.items() if isinstance(outcome, EngineError)]
    assert len(outcomes) == len(sources) and len(done) >= 3 and failed
    for name in failed:
        message = outcomes[name].user_message  # type: ignore[attr-defined]
        assert message.startswith(f"{name}: the server at {vllm_server.base_url}") and "cannot connect" in message

    restart_s = vllm_server.start()
    print(f"killed after 3 results: {len(done)} read, {len(failed)} failed, e.g. {outcomes[failed[0]]}; "
          f"restart took {restart_s:.0f} s")
    retry = [source for source in sources if source.name in failed]
    with FaultProxy(vllm_server.base_url) as proxy:
        again = engine_for(proxy.base_url).read_many(retry, "receipt")
    assert all(isinstance(outcome, Receipt) for outcome in again) and proxy.chat_requests == len(retry)


def _image_marker(source: SourceDocument) -> bytes:
    body = engine_for("http://127.0.0.1:9/v1").request_body(source, "receipt")
    return body["messages"][0]["content"][1]["image_url"]["url"][-64:].encode()
