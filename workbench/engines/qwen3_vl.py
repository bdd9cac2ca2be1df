"""Qwen3-VL through transformers: grammar-constrained JSON answers, token-probability confidence, batched reads.

`Qwen3VLEngine(settings)` loads Qwen3VLForConditionalGeneration and its tokenizer from a local folder or the
Hugging Face cache (never a download), on CUDA, Apple MPS or the CPU (bf16 on CUDA where supported). Images
are scaled to `vlm_pixel_budget` on the CPU and cut into the vision tower's patches on the model's device
(the layout of transformers' Qwen2VLImageProcessor, with the checkpoint's settings; no torchvision). Decoding is
greedy and constrained by llguidance to `vlm_output.output_schema`: the answer is valid JSON of the schema
every time, even from random weights. When the token budget runs low the decoder closes the answer (ends
the current value, then null for every key left), so it always ends within `vlm_max_new_tokens`.

`read(source, doc_type)` reads one document; `read_many(sources, doc_type)` reads many in batches of
`vlm_batch_size` (see `qwen3_vl_decode`: chunked prefill, all rows of a batch decoded together, the decode
step a CUDA graph on CUDA), preparing the next batch's images on other threads while the current batch
decodes; under greedy decoding it gives what `read` gives.
"""

import json
import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy
from PIL import Image

from schemas import DocType, Invoice, PageText, Receipt, SourceDocument, TextLine
from workbench.config import Settings
from workbench.engines import vlm_output
from workbench.engines.qwen3_vl_decode import BatchDecoder, Chunk
from workbench.errors import ConfigError, EngineError

DocChoice = DocType | Literal["auto"]
OcrRead = Callable[[Image.Image], list[TextLine]]

DEFAULT_REPO = "Qwen/Qwen3-VL-2B-Instruct"
PREFILL_TOKENS = 32768
"""Prompt tokens (padding included) prefilled in one forward pass; a batch is prefilled in chunks of rows."""
_CLOSING_IN_STRING = ('"', ".", "0")
_CLOSING_OUTSIDE = ("null", "]", "}", ",")
"""Tokens that end an answer soonest, best first, inside a string value and elsewhere (answers have no
escaped quotes, so an odd number of quotes so far means inside a string)."""


def resolve_model_folder(name: str) -> Path:
    """The local folder of model `name` (a folder path, or a repo id already in the Hugging Face cache)."""
    path = Path(name).expanduser()
    repo = name if _is_repo_id(name) else DEFAULT_REPO
    fetch = (f"The workbench never downloads a model while it runs. On a machine with internet access run "
             f"`huggingface-cli download {repo} --local-dir DIR`, copy DIR to this machine and set "
             f"WORKBENCH_VLM_MODEL=DIR.")
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(f"model folder {path.resolve()} has no config.json, so it is no Qwen3-VL checkpoint. "
                              + fetch)
        return path
    if _is_repo_id(name):
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            return Path(snapshot_download(name, local_files_only=True))
        except LocalEntryNotFoundError:
            raise ConfigError(f"model {name!r} is neither a folder ({path.resolve()}) nor in the Hugging Face cache. "
                              + fetch) from None
    raise ConfigError(f"model folder {path.resolve()} does not exist. " + fetch)


def _is_repo_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith((".", "~")) and os.sep not in name.replace("/", "")


@dataclass
class _Encoded:
    """One document for the model: its prompt tokens, its pages' pixels (H x W x 3 uint8) and visual grids."""

    tokens: list[int]
    pixels: list[Any]
    grids: list[list[int]]


@dataclass
class _Prepared:
    """One batch ready for the GPU: prefill chunks (token tensors, page pixels) and each document's page texts."""

    doc_type: DocChoice
    chunks: list[tuple[Chunk, list[Any]]]
    order: list[int]
    """The document (index into `pages`) of each chunk row, chunk after chunk."""
    pages: list[list[PageText]]


class Qwen3VLEngine:
    """Reads documents with Qwen3-VL; one instance per process, shared by threads (generation is serialised)."""

    name = "qwen3-vl"

    def __init__(self, settings: Settings, *, ocr_reader: OcrRead | None = None, use_ocr: bool = True,
                 device: str | None = None, dtype: str | None = None) -> None:
        folder = resolve_model_folder(settings.vlm_model)
        import llguidance
        import llguidance.hf
        import torch
        from transformers import AutoTokenizer, Qwen3VLForConditionalGeneration

        self._torch = torch
        self._settings = settings
        self.device = torch.device(device or _best_device(torch))
        self.dtype = getattr(torch, dtype) if dtype else _best_dtype(torch, self.device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            self.model = Qwen3VLForConditionalGeneration.from_pretrained(
                folder, dtype=self.dtype, local_files_only=True, attn_implementation="sdpa").to(self.device).eval()
        except (OSError, ValueError) as error:
            raise ConfigError(f"cannot load the Qwen3-VL model in {folder}: {error}") from error
        self._image = _image_processor_settings(folder)
        self._vision_ids = tuple(self.tokenizer.convert_tokens_to_ids(name) for name in
                                 ("<|vision_start|>", "<|image_pad|>", "<|vision_end|>"))
        self._prompt_ids = {kind: self.tokenizer.encode(f"<|im_start|>user\n{vlm_output.prompt(kind)}\n",
                                                        add_special_tokens=False)
                            for kind in ("receipt", "invoice", "auto")}
        self._suffix_ids = self.tokenizer.encode("<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)
        self._end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        self._pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self._end
        vocab = self.model.config.text_config.vocab_size
        self._lltokenizer = llguidance.hf.from_tokenizer(
            self.tokenizer, n_vocab=vocab, eos_token=self._end,
            slices=llguidance.LLTokenizer.general_slices() + vlm_output.code_runs())
        # Matchers copied from one template share its lexer cache behind one lock, so the executor computes
        # the masks of one template's copies one at a time: each executor thread gets a template of its own.
        threads = os.cpu_count() or 1
        self._grammars = {}
        for kind in ("receipt", "invoice", "auto"):
            grammar = llguidance.LLMatcher.grammar_from_json_schema(vlm_output.output_schema(kind),
                                                                    defaults={"whitespace_flexible": False})
            templates = [llguidance.LLMatcher(self._lltokenizer, grammar) for _ in range(threads)]
            if templates[0].is_error():
                raise ConfigError(f"the {kind} answer grammar does not compile: {templates[0].get_error()}")
            self._grammars[kind] = templates
        closing_bonus = torch.zeros((2, vocab), dtype=torch.float32)
        for side, preference in enumerate((_CLOSING_OUTSIDE, _CLOSING_IN_STRING)):
            for rank, text in enumerate(preference):
                ids = self.tokenizer.encode(text, add_special_tokens=False)
                if len(ids) == 1:
                    closing_bonus[side, ids[0]] = 1e4 * (len(preference) - rank)
        quotes = [self._lltokenizer.decode_bytes([token]).count(b'"') % 2 for token in range(vocab)]
        self._decoder = BatchDecoder(self.model, end=self._end, closing_bonus=closing_bonus.to(self.device),
                                     quotes=quotes, executor=llguidance.LLExecutor(threads), torch=torch)
        self._reserve = {kind: self._closing_reserve(kind) for kind in ("receipt", "invoice", "auto")}
        smallest = max(self._reserve.values()) + 16
        if settings.vlm_max_new_tokens < smallest:
            raise ConfigError(f"WORKBENCH_VLM_MAX_NEW_TOKENS={settings.vlm_max_new_tokens} is too small for a "
                              f"complete answer; use at least {smallest}")
        self._ocr = ocr_reader
        if self._ocr is None and use_ocr:
            from workbench.ocr import RapidOcrReader

            self._ocr = RapidOcrReader(settings).read
        self._lock = threading.Lock()
        self._prepare_pool = ThreadPoolExecutor(max_workers=max(1, min(16, os.cpu_count() or 1)),
                                                thread_name_prefix="qwen3-vl-prepare")

    def _closing_reserve(self, kind: DocChoice) -> int:
        """Tokens kept back to close an answer: its all-null skeleton plus one line item, with a margin."""
        skeleton = vlm_output.skeleton(kind)
        item = json.dumps({"desc": None, "qty": None, "price": None, "amt": None}, separators=(",", ":"))
        count = len(self.tokenizer.encode(skeleton + item, add_special_tokens=False))
        return math.ceil(count * 1.25) + 16

    def read(self, source: SourceDocument, doc_type: DocChoice) -> Receipt | Invoice:
        """Read one document (with "auto" the model says whether it is a receipt or an invoice)."""
        return self._generate(self._prepare([source], doc_type))[0]

    def read_many(self, sources: Sequence[SourceDocument], doc_type: DocChoice) -> list[Receipt | Invoice]:
        """Read many documents in batches; results are in the order of `sources`."""
        results: list[Receipt | Invoice] = []
        for prepared in self._prefetched(sources, doc_type):
            results.extend(self._generate(prepared.result()))
        return results

    def _prefetched(self, sources: Sequence[SourceDocument], doc_type: DocChoice) -> Iterator["Future[_Prepared]"]:
        size = self._settings.vlm_batch_size
        batches = [list(sources[start:start + size]) for start in range(0, len(sources), size)]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="qwen3-vl-batch") as ahead:
            pending = [ahead.submit(self._prepare, batch, doc_type) for batch in batches[:1]]
            for index in range(len(batches)):
                if index + 1 < len(batches):
                    pending.append(ahead.submit(self._prepare, batches[index + 1], doc_type))
                yield pending[index]

    def _prepare(self, sources: Sequence[SourceDocument], doc_type: DocChoice) -> _Prepared:
        """Scale the pages, run OCR where there is no text layer, and build the batch's tensors (CPU only)."""
        for source in sources:
            if not source.pages:
                raise EngineError(f"{source.name}: no page images to read (an XML-only document needs no VLM)")
        pages = list(self._prepare_pool.map(self._page_texts, sources))
        encoded = list(self._prepare_pool.map(lambda source: self._encode(source, doc_type), sources))
        # Prompts of similar length share a chunk, so little padding is prefilled.
        order = sorted(range(len(encoded)), key=lambda index: len(encoded[index].tokens))
        parts = [encoded[index] for index in order]
        rows = max(1, PREFILL_TOKENS // len(parts[-1].tokens))
        pin = self.device.type == "cuda"
        chunks = []
        for start in range(0, len(parts), rows):
            chunk = parts[start:start + rows]
            inputs = _left_padded([part.tokens for part in chunk], self._pad, self._vision_ids[1])
            inputs["image_grid_thw"] = self._torch.tensor([grid for part in chunk for grid in part.grids])
            pixels = [image for part in chunk for image in part.pixels]
            if pin:
                inputs = {key: value.pin_memory() for key, value in inputs.items()}
                pixels = [image.pin_memory() for image in pixels]
            chunks.append((Chunk(inputs, [len(part.tokens) for part in chunk]), pixels))
        return _Prepared(doc_type, chunks, order, pages)

    def _encode(self, source: SourceDocument, doc_type: DocChoice) -> _Encoded:
        """One document's prompt tokens (the instruction first: a prefix shared by all) and its page pixels.

        The tokens are those of `<|im_start|>user\n{instruction}\n`, then per page `<|vision_start|>`, one
        `<|image_pad|>` per visual token and `<|vision_end|>`, then `<|im_end|>\n<|im_start|>assistant\n`.
        """
        torch = self._torch
        patch = self._image["patch_size"]
        tile = patch * self._image["merge_size"]
        start, pad, end = self._vision_ids
        tokens = list(self._prompt_ids[doc_type])
        pixels, grids = [], []
        for page in source.pages:
            image = vlm_output.scale_to_budget(page.image, self._settings.vlm_pixel_budget, tile)
            width, height = image.size
            tokens += [start] + [pad] * ((width // tile) * (height // tile)) + [end]
            grids.append([1, height // patch, width // patch])
            pixels.append(torch.from_numpy(numpy.array(image)))
        tokens += self._suffix_ids
        return _Encoded(tokens, pixels, grids)

    def _page_texts(self, source: SourceDocument) -> list[PageText]:
        texts = []
        for page in source.pages:
            width, height = page.image.size
            if page.text_lines is not None:
                texts.append(PageText(number=page.number, width=width, height=height, lines=page.text_lines,
                                      origin="text"))
            elif self._ocr is not None:
                texts.append(PageText(number=page.number, width=width, height=height, lines=self._ocr(page.image)))
        return texts

    def _generate(self, prepared: _Prepared) -> list[Receipt | Invoice]:
        torch = self._torch
        chunks = []
        for chunk, pixels in prepared.chunks:
            inputs = {key: value.to(self.device, non_blocking=True) for key, value in chunk.inputs.items()}
            inputs["pixel_values"] = torch.cat([_patches(image.to(self.device, non_blocking=True), self._image)
                                                for image in pixels]).to(self.dtype)
            chunks.append(Chunk(inputs, chunk.lengths))
        templates = self._grammars[prepared.doc_type]
        rows = sum(len(chunk.lengths) for chunk in chunks)
        matchers = [templates[row % len(templates)].deep_copy() for row in range(rows)]
        budget = self._settings.vlm_max_new_tokens
        with self._lock, torch.inference_mode():
            answers = self._decoder.decode(chunks, matchers, budget, budget - self._reserve[prepared.doc_type])
        results: dict[int, Receipt | Invoice] = {}
        for answer, document in zip(answers, prepared.order, strict=True):
            scores = [vlm_output.TokenScore(self._lltokenizer.decode_bytes([token]), logprob, forced)
                      for token, logprob, forced in zip(answer.tokens, answer.logprobs, answer.forced, strict=True)]
            text = b"".join(score.token for score in scores).decode("utf-8", errors="replace")
            results[document] = vlm_output.parse_answer(text, prepared.doc_type, scores, prepared.pages[document])
        return [results[document] for document in range(len(prepared.pages))]


def _left_padded(rows: Sequence[list[int]], pad: int, image_token: int) -> dict[str, Any]:
    """Token rows padded on the left: input ids, attention mask and the token types (1 for image tokens)."""
    import torch

    length = max(len(row) for row in rows)
    ids = torch.tensor([[pad] * (length - len(row)) + row for row in rows])
    mask = torch.tensor([[0] * (length - len(row)) + [1] * len(row) for row in rows])
    return {"input_ids": ids, "attention_mask": mask, "mm_token_type_ids": (ids == image_token).int() * mask}


def _patches(image: Any, settings: dict[str, Any]) -> Any:
    """One page's vision-tower input from its H x W x 3 uint8 pixels, laid out as Qwen2VLImageProcessor does.

    Rescaled to 0-1 and normalised per channel, then cut into patches ordered merge group by merge group, each
    patch repeated over the temporal patch size (a still image is that many identical frames).
    """
    import torch

    patch, merge, frames = settings["patch_size"], settings["merge_size"], settings["temporal_patch_size"]
    mean = torch.tensor(settings["image_mean"], device=image.device).view(-1, 1, 1)
    std = torch.tensor(settings["image_std"], device=image.device).view(-1, 1, 1)
    pixels = (image.permute(2, 0, 1).float() / 255 - mean) / std
    channels, height, width = pixels.shape
    rows, columns = height // patch, width // patch
    grouped = pixels.reshape(channels, rows // merge, merge, patch, columns // merge, merge, patch)
    grouped = grouped.permute(1, 4, 2, 5, 0, 3, 6).unsqueeze(5)
    grouped = grouped.expand(*grouped.shape[:5], frames, *grouped.shape[6:])
    return grouped.reshape(rows * columns, channels * frames * patch * patch)


def _image_processor_settings(folder: Path) -> dict[str, Any]:
    """The checkpoint's image processor settings (Qwen3-VL's when the file is missing)."""
    settings: dict[str, Any] = {"patch_size": 16, "temporal_patch_size": 2, "merge_size": 2,
                                "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    config_file = folder / "preprocessor_config.json"
    if config_file.is_file():
        try:
            stored = json.loads(config_file.read_text())
        except (OSError, ValueError) as error:
            raise ConfigError(f"{config_file}: cannot read the image processor settings ({error})") from error
        settings.update({key: stored[key] for key in settings if key in stored})
    return settings


def _best_device(torch: Any) -> str:
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _best_dtype(torch: Any, device: Any) -> Any:
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if device.type == "mps":
        return torch.float16
    return torch.float32
