"""Qwen3-VL through transformers: grammar-constrained JSON answers, token-probability confidence, batched reads.

`Qwen3VLEngine(settings)` loads Qwen3VLForConditionalGeneration and its tokenizer from a local folder or the
Hugging Face cache (never a download), on CUDA, Apple MPS or the CPU (bf16 on CUDA where supported). Images
go through `Qwen2VLImageProcessorPil` with the checkpoint's settings, so torchvision is not needed. Decoding is
greedy and constrained by llguidance to `vlm_output.output_schema`: the answer is valid JSON of the schema
every time, even from random weights. When the token budget runs low the decoder closes the answer (ends
the current value, then null for every key left), so it always ends within `vlm_max_new_tokens`.

`read(source, doc_type)` reads one document; `read_many(sources, doc_type)` reads many in batches of
`vlm_batch_size` (left padding, one `generate` call per batch), preparing the next batch's images on
another thread while the current batch decodes; under greedy decoding it gives what `read` gives.
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

from PIL import Image

from schemas import DocType, Invoice, PageText, Receipt, SourceDocument, TextLine
from workbench.config import Settings
from workbench.engines import vlm_output
from workbench.errors import ConfigError, EngineError

DocChoice = DocType | Literal["auto"]
OcrRead = Callable[[Image.Image], list[TextLine]]

DEFAULT_REPO = "Qwen/Qwen3-VL-2B-Instruct"
IMAGE_MULTIPLE = 32
"""Qwen3-VL: patch 16 merged 2 x 2, so one visual token per 32 x 32 pixels."""
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
class _Prepared:
    """One batch ready for the GPU: the processor's tensors and each document's page texts."""

    doc_type: DocChoice
    inputs: Any
    pages: list[list[PageText]]


class Qwen3VLEngine:
    """Reads documents with Qwen3-VL; one instance per process, shared by threads (generation is serialised)."""

    name = "qwen3-vl"

    def __init__(self, settings: Settings, *, ocr_reader: OcrRead | None = None, use_ocr: bool = True,
                 device: str | None = None, dtype: str | None = None, compile_decoder: bool = False) -> None:
        folder = resolve_model_folder(settings.vlm_model)
        import llguidance
        import llguidance.hf
        import torch
        from transformers import AutoTokenizer, Qwen2VLImageProcessorPil, Qwen3VLForConditionalGeneration

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
        self.tokenizer.padding_side = "left"
        self._processor = _image_only_processor(
            Qwen2VLImageProcessorPil(**_image_processor_settings(folder, settings.vlm_pixel_budget)), self.tokenizer)
        self._end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        self._pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self._end
        vocab = self.model.config.text_config.vocab_size
        self._lltokenizer = llguidance.hf.from_tokenizer(self.tokenizer, n_vocab=vocab, eos_token=self._end)
        self._grammars = {kind: llguidance.LLMatcher(self._lltokenizer, llguidance.LLMatcher.grammar_from_json_schema(
            vlm_output.output_schema(kind), defaults={"whitespace_flexible": False})) for kind in
            ("receipt", "invoice", "auto")}
        for kind, matcher in self._grammars.items():
            if matcher.is_error():
                raise ConfigError(f"the {kind} answer grammar does not compile: {matcher.get_error()}")
        self._executor = llguidance.LLExecutor()
        self._closing_bonus = torch.zeros((2, vocab), dtype=torch.float32)
        for side, preference in enumerate((_CLOSING_OUTSIDE, _CLOSING_IN_STRING)):
            for rank, text in enumerate(preference):
                ids = self.tokenizer.encode(text, add_special_tokens=False)
                if len(ids) == 1:
                    self._closing_bonus[side, ids[0]] = 1e4 * (len(preference) - rank)
        self._closing_bonus = self._closing_bonus.to(self.device)
        self._quotes = [self._lltokenizer.decode_bytes([token]).count(b'"') % 2 for token in range(vocab)]
        self._reserve = {kind: self._closing_reserve(kind) for kind in ("receipt", "invoice", "auto")}
        smallest = max(self._reserve.values()) + 16
        if settings.vlm_max_new_tokens < smallest:
            raise ConfigError(f"WORKBENCH_VLM_MAX_NEW_TOKENS={settings.vlm_max_new_tokens} is too small for a "
                              f"complete answer; use at least {smallest}")
        self._compile = compile_decoder
        self._ocr = ocr_reader
        if self._ocr is None and use_ocr:
            from workbench.ocr import RapidOcrReader

            self._ocr = RapidOcrReader(settings).read
        self._lock = threading.Lock()
        self._prepare_pool = ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1)),
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
        instruction = vlm_output.prompt(doc_type)
        parts = list(self._prepare_pool.map(lambda source: self._encode(source, instruction), sources))
        inputs = _left_padded(parts, self._pad)
        if self.device.type == "cuda":
            inputs = {key: value.pin_memory() for key, value in inputs.items()}
        return _Prepared(doc_type, inputs, pages)

    def _encode(self, source: SourceDocument, instruction: str) -> dict[str, Any]:
        """One document's prompt tokens and image tensors (the instruction first: a prefix shared by all)."""
        images = [vlm_output.scale_to_budget(page.image, self._settings.vlm_pixel_budget, IMAGE_MULTIPLE)
                  for page in source.pages]
        visual = "<|vision_start|><|image_pad|><|vision_end|>" * len(images)
        text = f"<|im_start|>user\n{instruction}\n{visual}<|im_end|>\n<|im_start|>assistant\n"
        return dict(self._processor(text=[text], images=images, return_tensors="pt"))

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
        from transformers import LogitsProcessorList

        inputs = {key: value.to(self.device, non_blocking=True) for key, value in prepared.inputs.items()}
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        batch = inputs["input_ids"].shape[0]
        template = self._grammars[prepared.doc_type]
        budget = self._settings.vlm_max_new_tokens
        constraint = _GrammarConstraint([template.deep_copy() for _ in range(batch)], self._executor,
                                        self._closing_bonus, self._quotes, budget - self._reserve[prepared.doc_type], self._end, torch)
        options: dict[str, Any] = {}
        if self._compile:
            from transformers import CompileConfig

            options["cache_implementation"] = "static"
            options["compile_config"] = CompileConfig(fullgraph=False, mode="reduce-overhead")
        with self._lock, torch.inference_mode():
            output = self.model.generate(**inputs, logits_processor=LogitsProcessorList([constraint]),
                                         max_new_tokens=budget, do_sample=False, eos_token_id=self._end,
                                         pad_token_id=self._pad, **options)
        prompt_length = inputs["input_ids"].shape[1]
        generated = output[:, prompt_length:].tolist()
        logprobs = torch.stack(constraint.logprobs, dim=1).float().cpu().tolist()
        forced = [list(steps) for steps in zip(*constraint.forced, strict=True)]
        results = []
        for row, tokens in enumerate(generated):
            if not constraint.matchers[row].is_accepting():
                raise EngineError(f"the model's answer stopped unfinished after {budget} tokens "
                                  f"({constraint.matchers[row].get_error() or 'token budget spent'})")
            length = tokens.index(self._end) if self._end in tokens else len(tokens)
            scores = [vlm_output.TokenScore(self._lltokenizer.decode_bytes([token]), logprobs[row][step],
                                            bool(forced[row][step])) for step, token in enumerate(tokens[:length])]
            answer = b"".join(score.token for score in scores).decode("utf-8", errors="replace")
            results.append(vlm_output.parse_answer(answer, prepared.doc_type, scores, prepared.pages[row]))
        return results


class _GrammarConstraint:
    """A transformers logits processor driving one llguidance matcher per row (greedy decoding only).

    It masks every token the grammar forbids, records the chosen token's log-probability under the masked
    distribution and whether the grammar forced the next bytes, and from step `closing_step` on takes the
    forced tokens or else the tokens that end the answer soonest.
    """

    def __init__(self, matchers: list[Any], executor: Any, closing_bonus: Any, quotes: Sequence[int],
                 closing_step: int, end: int, torch: Any) -> None:
        import llguidance.torch

        self.matchers = matchers
        self._end = end
        bit = 1 << (end % 32)
        self._end_bit = bit - (1 << 32) if bit >= 1 << 31 else bit  # the int32 word with only the end token set
        self._executor = executor
        self._bonus = closing_bonus
        self._closing_step = closing_step
        self._torch = torch
        self._fill = llguidance.torch.fill_next_token_bitmask_par
        self._quotes = quotes
        self._in_string = [0] * len(matchers)
        self._bitmask = llguidance.torch.allocate_token_bitmask(len(matchers), closing_bonus.shape[1])
        self._shifts = torch.arange(32, dtype=torch.int32, device=closing_bonus.device)
        self._done = [False] * len(matchers)
        self._force_first: dict[int, int] = {}
        self._step = 0
        self.logprobs: list[Any] = []
        self.forced: list[Any] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        torch = self._torch
        if self._step > 0:
            for row, token in enumerate(input_ids[:, -1].tolist()):
                if self._done[row]:
                    continue
                matcher = self.matchers[row]
                if not matcher.consume_token(token):
                    raise EngineError(f"the answer grammar rejected token {token}: {matcher.get_error()}")
                self._in_string[row] ^= self._quotes[token]
                self._done[row] = matcher.is_stopped()
        forced = [False] * len(self.matchers)
        for row, matcher in enumerate(self.matchers):
            if not self._done[row]:
                forward = matcher.compute_ff_tokens()
                if forward:
                    forced[row] = True
                    self._force_first[row] = forward[0]
        self._bitmask.zero_()
        for row, done in enumerate(self._done):
            if done:
                self._bitmask[row, self._end // 32] = self._end_bit
        active = [(matcher, row) for row, matcher in enumerate(self.matchers) if not self._done[row]]
        if active:
            self._fill(self._executor, active, self._bitmask)
        words = self._bitmask.to(scores.device, non_blocking=True)
        allowed = ((words.unsqueeze(-1) >> self._shifts) & 1).bool().view(words.shape[0], -1)[:, :scores.shape[1]]
        masked = scores.float().masked_fill(~allowed, float("-inf"))
        logprobs = torch.log_softmax(masked, dim=-1)
        choice = masked
        if self._step >= self._closing_step:
            sides = torch.tensor(self._in_string, device=masked.device)
            choice = masked + self._bonus[sides]
            for row, token in self._force_first.items():
                choice[row, token] = 1e9
        self._force_first.clear()
        chosen = choice.argmax(dim=-1, keepdim=True)
        self.logprobs.append(logprobs.gather(1, chosen)[:, 0])
        self.forced.append(forced)
        self._step += 1
        return choice


def _left_padded(parts: Sequence[dict[str, Any]], pad: int) -> dict[str, Any]:
    """One batch from single-document encodings: token rows padded on the left, image tensors stacked."""
    import torch

    length = max(part["input_ids"].shape[1] for part in parts)
    batch: dict[str, Any] = {}
    for key in parts[0]:
        if key in ("pixel_values", "image_grid_thw"):
            batch[key] = torch.cat([part[key] for part in parts])
            continue
        fill = pad if key == "input_ids" else 0
        rows = []
        for part in parts:
            row = part[key]
            padding = torch.full((1, length - row.shape[1]), fill, dtype=row.dtype)
            rows.append(torch.cat([padding, row], dim=1))
        batch[key] = torch.cat(rows)
    return batch


def _image_only_processor(image_processor: Any, tokenizer: Any) -> Any:
    """A Qwen3VLProcessor without its video processor, which would need torchvision."""
    from transformers import Qwen3VLProcessor

    class ImageOnlyProcessor(Qwen3VLProcessor):
        def __init__(self, image_processor: Any = None, tokenizer: Any = None, **kwargs: Any) -> None:
            super().__init__(image_processor=image_processor, tokenizer=tokenizer, video_processor=None, **kwargs)

    return ImageOnlyProcessor(image_processor=image_processor, tokenizer=tokenizer)


def _image_processor_settings(folder: Path, pixel_budget: int) -> dict[str, Any]:
    """The checkpoint's image processor settings (Qwen3-VL's when the file is missing), capped at the budget."""
    settings: dict[str, Any] = {"patch_size": 16, "temporal_patch_size": 2, "merge_size": 2,
                                "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    config_file = folder / "preprocessor_config.json"
    if config_file.is_file():
        try:
            stored = json.loads(config_file.read_text())
        except (OSError, ValueError) as error:
            raise ConfigError(f"{config_file}: cannot read the image processor settings ({error})") from error
        settings.update({key: stored[key] for key in settings if key in stored})
    tile = (settings["patch_size"] * settings["merge_size"]) ** 2
    settings["size"] = {"shortest_edge": tile, "longest_edge": pixel_budget}
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
