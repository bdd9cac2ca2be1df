"""The "openai" engine: reads documents through an OpenAI-compatible server (vLLM serving Qwen3-VL, or any other).

One request per document carries its page images (scaled to the pixel budget, as JPEG data URLs), the prompt
and the output schema as structured output (`response_format` json_schema, vLLM's guided JSON), and asks for
token logprobs; the answer is parsed and scored by the same code as the local Qwen3-VL engine
(workbench.engines.vlm_output). Bulk reading keeps `openai_concurrency` requests in flight, retries transient
failures (timeouts, connection errors, 408/409/429, 5xx) with exponential backoff, sends each content hash at
most once per call, and turns every other failure into a per-document EngineError so a batch goes on.
"""

import asyncio
import base64
import concurrent.futures
import io
import os
import queue
import random
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, TypeVar

import openai

from schemas import DocType, Invoice, PageText, Receipt, SourceDocument
from workbench.config import Settings
from workbench.engines import vlm_output
from workbench.errors import ConfigError, EngineError
from workbench.ocr import OcrReader, RapidOcrReader

Outcome = Receipt | Invoice | EngineError
"""What reading one document gives in bulk: the document, or the error that stopped it."""

Progress = Callable[[int, int], None]
"""Called with (documents finished, documents in total) after each document."""

TRANSIENT_STATUS = frozenset({408, 409, 429})
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
TOP_LOGPROBS = 2
FORCED_LOGPROB = -1e-4
IMPOSSIBLE_LOGPROB = -1000.0
JPEG_QUALITY = 90

_T = TypeVar("_T")


class OpenAICompatibleEngine:
    """A client of one OpenAI-compatible server; thread-safe (each call builds its own async client)."""

    name = "openai"

    def __init__(self, settings: Settings, reader: OcrReader | None = None, use_ocr: bool = True,
                 text_cap: int | None = None) -> None:
        """Pages without a text layer are OCRed here (`reader`, else rapidocr unless `use_ocr` is False), as
        the local Qwen3-VL engine does, so a value the page does not show is capped and fields get boxes;
        `text_cap` lowers every text bound of the output schema (a small context, or random test weights)."""
        if not settings.openai_base_url.startswith(("http://", "https://")):
            raise ConfigError(f"WORKBENCH_OPENAI_BASE_URL must start with http:// or https://, "
                              f"not {settings.openai_base_url!r}")
        self.settings = settings
        self.base_url = settings.openai_base_url.rstrip("/")
        if reader is None and use_ocr:
            reader = RapidOcrReader(settings)
        self._reader = reader
        self._text_cap = text_cap
        # vLLM without --api-key accepts any key; the client library insists on one.
        self._api_key = settings.openai_api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"

    @property
    def concurrency(self) -> int:
        """How many documents a bulk import should read at once through this engine (from threads)."""
        return self.settings.openai_concurrency

    def __repr__(self) -> str:
        return f"OpenAICompatibleEngine(base_url={self.base_url!r}, model={self.settings.openai_model!r})"

    def read(self, source: SourceDocument, doc_type: DocType | Literal["auto"] = "auto") -> Receipt | Invoice:
        """Read one document; raise EngineError when the server cannot give a valid answer."""
        outcome = _run(self._read_all([source], doc_type, None))[0]
        if isinstance(outcome, EngineError):
            raise outcome
        return outcome

    def read_many(self, sources: Sequence[SourceDocument], doc_type: DocType | Literal["auto"] = "auto",
                  progress: Progress | None = None) -> list[Outcome]:
        """Read documents with `openai_concurrency` requests in flight; outcomes come back in input order.

        Documents with the same content hash are sent once and share the outcome.
        """
        return _run(self._read_all(list(sources), doc_type, progress))

    def read_stream(self, sources: Iterable[SourceDocument],
                    doc_type: DocType | Literal["auto"] = "auto") -> Iterator[tuple[SourceDocument, Outcome]]:
        """Yield (document, outcome) as each finishes, pulling `sources` lazily (loading stays bounded).

        A caller that stores each outcome as it arrives never sends a stored document again after a crash.
        A content hash seen earlier in the same stream is not sent again: it yields the first outcome.
        Closing the generator early cancels the requests in flight.
        """
        results: queue.Queue[tuple[SourceDocument, Outcome] | BaseException | None] = queue.Queue(
            maxsize=self.settings.openai_concurrency)
        stop = threading.Event()

        def produce() -> None:
            try:
                asyncio.run(self._stream(iter(sources), doc_type, results, stop))
            except BaseException as error:  # handed to the consumer, which re-raises it
                results.put(error)
            else:
                results.put(None)

        thread = threading.Thread(target=produce, name="openai-engine-stream", daemon=True)
        thread.start()
        try:
            while (item := results.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while thread.is_alive():
                try:
                    results.get(timeout=0.1)
                except queue.Empty:
                    pass

    async def _stream(self, sources: Iterator[SourceDocument], doc_type: DocType | Literal["auto"],
                      results: "queue.Queue[Any]", stop: threading.Event) -> None:
        # A slot is held from taking a document until the consumer has its outcome: that bounds both the
        # requests in flight and the loaded documents waiting in memory.
        slots = asyncio.Semaphore(self.settings.openai_concurrency)
        firsts: dict[str, asyncio.Task[Outcome]] = {}
        deliveries: set[asyncio.Task[None]] = set()
        end = object()

        async def deliver(source: SourceDocument, first: "asyncio.Task[Outcome]") -> None:
            try:
                try:
                    item: Any = (source, await asyncio.shield(first))
                except Exception as error:  # a bug, not a server failure: the consumer re-raises it
                    item = error
                await asyncio.to_thread(results.put, item)
            finally:
                slots.release()

        async with self._client() as client:
            try:
                while True:
                    await slots.acquire()
                    item = end if stop.is_set() else await asyncio.to_thread(next, sources, end)
                    if not isinstance(item, SourceDocument):
                        slots.release()
                        break
                    first = firsts.get(item.content_hash)
                    if first is None:
                        first = firsts[item.content_hash] = asyncio.create_task(self._read_one(client, item, doc_type))
                    delivery = asyncio.create_task(deliver(item, first))
                    deliveries.add(delivery)
                    delivery.add_done_callback(deliveries.discard)
                while deliveries and not stop.is_set():
                    await asyncio.wait(set(deliveries), timeout=0.2)
            finally:
                pending = [task for task in (*deliveries, *firsts.values()) if not task.done()]
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)

    async def _read_all(self, sources: list[SourceDocument], doc_type: DocType | Literal["auto"],
                        progress: Progress | None) -> list[Outcome]:
        slots = asyncio.Semaphore(self.settings.openai_concurrency)
        firsts: dict[str, asyncio.Task[Outcome]] = {}
        done = 0

        async def limited(source: SourceDocument) -> Outcome:
            nonlocal done
            async with slots:
                outcome = await self._read_one(client, source, doc_type)
            done += 1
            if progress is not None:
                progress(done, len(firsts))
            return outcome

        async with self._client() as client:
            for source in sources:
                if source.content_hash not in firsts:
                    firsts[source.content_hash] = asyncio.create_task(limited(source))
            await asyncio.gather(*firsts.values())
        return [firsts[source.content_hash].result() for source in sources]

    def _client(self) -> openai.AsyncOpenAI:
        # Retries are ours (backoff, per-document errors); the library's own would hide them.
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=self._api_key,
                                  timeout=self.settings.openai_timeout_s, max_retries=0)

    async def _read_one(self, client: openai.AsyncOpenAI, source: SourceDocument,
                        doc_type: DocType | Literal["auto"]) -> Outcome:
        try:
            if not source.pages:
                raise EngineError(f"{source.name}: has no page images to send to the server")
            # OCR (when a page has no text layer) runs while the server reads the document.
            page_texts = asyncio.create_task(asyncio.to_thread(self._page_texts, source))
            try:
                body = await asyncio.to_thread(self.request_body, source, doc_type)
                completion = await self._send(client, source.name, body)
            finally:
                pages = await page_texts
            return await asyncio.to_thread(self._parse, source, doc_type, completion, pages)
        except EngineError as error:
            return error

    def request_body(self, source: SourceDocument, doc_type: DocType | Literal["auto"]) -> dict[str, Any]:
        """The chat completion request for one document: the prompt first (a prefix the server can cache),
        then the page images as JPEG data URLs, the output schema as structured output, logprobs on."""
        budget = self.settings.vlm_pixel_budget
        images = [{"type": "image_url",
                   "image_url": {"url": _data_url(vlm_output.scale_to_budget(page.image, budget))}}
                  for page in source.pages]
        return {
            "model": self.settings.openai_model,
            "messages": [{"role": "user", "content": [{"type": "text", "text": vlm_output.prompt(doc_type)},
                                                      *images]}],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": doc_type, "strict": True, "schema": vlm_output.output_schema(doc_type, self._text_cap)}},
            "temperature": 0.0,
            "max_tokens": self.settings.vlm_max_new_tokens,
            "logprobs": True,
            "top_logprobs": TOP_LOGPROBS,
        }

    async def _send(self, client: openai.AsyncOpenAI, name: str, body: dict[str, Any]) -> Any:
        retries = self.settings.openai_retries
        for attempt in range(retries + 1):
            retry_after: float | None = None
            try:
                return await client.chat.completions.create(**body)
            except openai.APITimeoutError:
                failure = f"no answer within {self.settings.openai_timeout_s:g} s (WORKBENCH_OPENAI_TIMEOUT_S)"
            except openai.APIConnectionError as error:
                failure = f"cannot connect ({error.__cause__ or error})"
            except openai.APIStatusError as error:
                failure = f"HTTP {error.status_code}: {_server_message(error)}"
                if error.status_code not in TRANSIENT_STATUS and error.status_code < 500:
                    raise EngineError(f"{name}: the server at {self.base_url} refused the request: {failure}"
                                      f"{_hint(error.status_code)}") from error
                retry_after = _retry_after(error.response.headers.get("retry-after"))
            except (openai.OpenAIError, ValueError) as error:
                raise EngineError(f"{name}: the server at {self.base_url} gave an unreadable answer: "
                                  f"{type(error).__name__}: {str(error)[:300]}") from error
            if attempt == retries:
                raise EngineError(f"{name}: the server at {self.base_url} failed {attempt + 1} times "
                                  f"(WORKBENCH_OPENAI_RETRIES={retries}); last: {failure}")
            await asyncio.sleep(retry_after if retry_after is not None else _backoff(attempt))
        raise AssertionError("unreachable")

    def _parse(self, source: SourceDocument, doc_type: DocType | Literal["auto"], completion: Any,
               pages: list[PageText]) -> Receipt | Invoice:
        choices = getattr(completion, "choices", None)
        if not choices:
            raise EngineError(f"{source.name}: the server at {self.base_url} answered without a choice: "
                              f"{str(completion)[:300]}")
        choice = choices[0]
        if choice.finish_reason == "length":
            raise EngineError(f"{source.name}: the answer was cut at {self.settings.vlm_max_new_tokens} tokens "
                              "(raise WORKBENCH_VLM_MAX_NEW_TOKENS and the server's --max-model-len)")
        answer = choice.message.content or ""
        try:
            return vlm_output.parse_answer(answer, doc_type, token_scores(answer, choice.logprobs), pages)
        except EngineError as error:
            raise EngineError(f"{source.name}: {error.user_message}") from None

    def _page_texts(self, source: SourceDocument) -> list[PageText]:
        texts = []
        for page in source.pages:
            width, height = page.image.size
            if page.text_lines is not None:
                texts.append(PageText(number=page.number, width=width, height=height,
                                      lines=page.text_lines, origin="text"))
            elif self._reader is not None:
                texts.append(PageText(number=page.number, width=width, height=height,
                                      lines=self._reader.read(page.image), origin="ocr"))
        return texts


def token_scores(answer: str, logprobs: Any) -> list[vlm_output.TokenScore] | None:
    """The answer's tokens with their log-probabilities, or None when the server sent none.

    A token is counted as forced by the grammar when the server reports no alternative with a finite
    probability (vLLM applies the structured-output mask before computing logprobs and writes -inf as -9999).
    Tokens after the answer's last byte (an end token the server did not print) are left out.
    """
    content = getattr(logprobs, "content", None) if logprobs is not None else None
    if not content:
        return None
    wanted = len(answer.encode("utf-8"))
    scores, spelled = [], 0
    for entry in content:
        if spelled >= wanted:
            break
        token = bytes(entry.bytes) if entry.bytes is not None else entry.token.encode("utf-8")
        alternatives = [alt.logprob for alt in (entry.top_logprobs or []) if alt.token != entry.token]
        forced = entry.logprob > FORCED_LOGPROB and all(alt <= IMPOSSIBLE_LOGPROB for alt in alternatives)
        scores.append(vlm_output.TokenScore(token=token, logprob=entry.logprob, forced=forced))
        spelled += len(token)
    return scores


def _data_url(image: Any) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _backoff(attempt: int) -> float:
    # Full jitter keeps many clients from retrying in step after a server restart.
    return random.uniform(0.5, 1.0) * min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** attempt)


def _retry_after(value: str | None) -> float | None:
    try:
        return min(BACKOFF_CAP_S, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None


def _server_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        message = body.get("message") or body.get("error", {})
        if isinstance(message, dict):
            message = message.get("message")
        if message:
            return str(message)[:500]
    return (error.response.text or error.message)[:500]


def _hint(status: int) -> str:
    return {
        401: " (check WORKBENCH_OPENAI_API_KEY)",
        403: " (check WORKBENCH_OPENAI_API_KEY)",
        404: " (check WORKBENCH_OPENAI_BASE_URL, which ends in /v1, and WORKBENCH_OPENAI_MODEL)",
    }.get(status, "")


def _run(coroutine: Awaitable[_T]) -> _T:
    """Run a coroutine to the end from synchronous code, also when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()  # type: ignore[arg-type]
