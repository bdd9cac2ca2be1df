"""Greedy batched decoding of Qwen3-VL with one llguidance grammar per row, in a loop of our own.

`BatchDecoder(model, ...)` keeps the model's key/value cache in preallocated buffers (rows rounded up to a
power of two on CUDA, length rounded up to `LENGTH_STEP`) and runs one decode step of the language model as a
CUDA graph (eagerly elsewhere) whose attention reads only each row's filled cache columns (the Triton kernel of
`qwen3_vl_attention` on CUDA, where Triton is installed). `decode(chunks, matchers, budget, closing_step)`
prefills the prompt chunks with the model's own forward (vision tower included), then steps all rows together:
the grammar masks of a step are computed on the CPU (in parallel over rows) while the GPU runs the step's
forward pass. A token the grammar forces (llguidance's fast-forward tokens) is the only one its row's mask
allows, with no mask computed; from `closing_step` on the tokens that end an answer soonest are preferred, so
every answer closes within `budget` tokens.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workbench.errors import EngineError

LENGTH_STEP = 256
"""Key/value buffer lengths are multiples of this, so few decode graphs are captured."""


@dataclass
class Chunk:
    """Rows of a batch prefilled together: the model's inputs for them (token rows padded on the left)."""

    inputs: dict[str, Any]
    lengths: list[int]
    """Prompt tokens of each row, padding left out."""


@dataclass
class Decoded:
    """One row's answer: its tokens up to the end token, their log-probabilities and which the grammar forced."""

    tokens: list[int]
    logprobs: list[float]
    forced: list[bool]


class _Buffers:
    """Fixed-shape tensors of the decode step (the CUDA graph reads and writes exactly these)."""

    def __init__(self, model: Any, rows: int, length: int, torch: Any) -> None:
        text = model.config.text_config
        device, dtype = model.device, model.dtype
        shape = (rows, text.num_key_value_heads, length, text.head_dim)
        self.rows, self.length = rows, length
        self.keys = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(text.num_hidden_layers)]
        self.values = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(text.num_hidden_layers)]
        self.tokens = torch.zeros(rows, dtype=torch.long, device=device)
        self.column = torch.zeros(1, dtype=torch.long, device=device)
        self.offsets = torch.zeros(rows, dtype=torch.long, device=device)
        self.starts = torch.zeros(rows, dtype=torch.long, device=device)
        """Each row's first cache column: its keys/values are those of columns `starts`..`column`."""
        self.columns = torch.arange(length, device=device)
        self.logits = torch.zeros((rows, text.vocab_size), dtype=torch.float32, device=device)


class BatchDecoder:
    """Prefill and greedy grammar-constrained decoding for one Qwen3VLForConditionalGeneration (not thread-safe)."""

    def __init__(self, model: Any, *, end: int, closing_bonus: Any, quotes: Sequence[int], executor: Any,
                 torch: Any) -> None:
        import llguidance.torch

        self._model = model
        self._torch = torch
        self._end = end
        self._bonus = closing_bonus
        self._quotes = quotes
        self._executor = executor
        self._fill = llguidance.torch.fill_next_token_bitmask_par
        self._allocate_bitmask = llguidance.torch.allocate_token_bitmask
        self._graphs = model.device.type == "cuda"
        self._attend = _cache_attention(self._graphs)
        self._buffers: _Buffers | None = None
        self._graph: Any = None
        self._vocab = model.config.text_config.vocab_size
        from transformers.models.qwen3_vl.modeling_qwen3_vl import apply_rotary_pos_emb

        self._rotary = apply_rotary_pos_emb
        self._shifts = torch.arange(32, dtype=torch.int32, device=model.device)

    def decode(self, chunks: Sequence[Chunk], matchers: list[Any], budget: int, closing_step: int) -> list[Decoded]:
        """Answers of every row of `chunks` (in order), each driven by its matcher; call under inference_mode."""
        torch = self._torch
        lengths = [length for chunk in chunks for length in chunk.lengths]
        prompt = max(chunk.inputs["input_ids"].shape[1] for chunk in chunks)
        buffers = self._buffers_for(len(lengths), prompt + budget)
        buffers.starts.fill_(prompt)
        buffers.column.fill_(prompt)
        self._prefill(chunks, buffers, prompt)
        rows = _GrammarRows(matchers, buffers.rows, self._quotes, self._end, self._allocate_bitmask, self._vocab,
                            self._fill, self._executor)
        device = buffers.logits.device
        bitmask = torch.empty(rows.bitmask.shape, dtype=torch.int32, device=device)
        sides = torch.empty(rows.sides.shape, dtype=torch.long, device=device)
        chosen_host = torch.empty(buffers.rows, dtype=torch.long, pin_memory=self._graphs)
        logprobs = torch.zeros((buffers.rows, budget), dtype=torch.float32, device=device)
        done = torch.cuda.Event() if self._graphs else None
        for step in range(budget):
            rows.fill()
            bitmask.copy_(rows.bitmask, non_blocking=True)
            sides.copy_(rows.sides, non_blocking=True)
            chosen, logprob = self._select(buffers.logits, bitmask, sides, step >= closing_step)
            buffers.tokens.copy_(chosen)
            logprobs[:, step] = logprob
            chosen_host.copy_(chosen, non_blocking=True)
            if done is not None:
                done.record()
            if step + 1 < budget:
                self._step(buffers)
            if done is not None:
                done.synchronize()
            rows.consume(chosen_host.tolist())
            if rows.finished():
                break
        scores = logprobs[:, :rows.steps].cpu().tolist()
        answers = []
        for row, matcher in enumerate(matchers):
            if not matcher.is_accepting():
                raise EngineError(f"the model's answer stopped unfinished after {budget} tokens "
                                  f"({matcher.get_error() or 'token budget spent'})")
            count = len(rows.tokens[row])
            answers.append(Decoded(rows.tokens[row], scores[row][:count], rows.forced[row][:count]))
        return answers

    def _buffers_for(self, rows: int, length: int) -> _Buffers:
        """The step buffers (and graph) for at least `rows` rows of `length` tokens, reused when they fit."""
        torch = self._torch
        rows = 1 << math.ceil(math.log2(rows)) if self._graphs else rows
        length = LENGTH_STEP * math.ceil(length / LENGTH_STEP)
        current = self._buffers
        if current is not None and current.rows == rows and length <= current.length < length + 2 * LENGTH_STEP:
            return current
        self._buffers, self._graph = None, None
        if self._graphs:
            torch.cuda.empty_cache()
        buffers = _Buffers(self._model, rows, length, torch)
        if self._graphs:
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(2):
                    self._forward(buffers)
            torch.cuda.current_stream().wait_stream(stream)
            self._graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self._graph):
                self._forward(buffers)
        self._buffers = buffers
        return buffers

    def _prefill(self, chunks: Sequence[Chunk], buffers: _Buffers, prompt: int) -> None:
        """Run each chunk's prompt through the model; keep its keys/values right-aligned at column `prompt`."""
        torch = self._torch
        start = 0
        for chunk in chunks:
            count = len(chunk.lengths)
            rows = slice(start, start + count)
            self._model.model.rope_deltas = None
            output = self._model(**chunk.inputs, use_cache=True, logits_to_keep=1)
            width = chunk.inputs["input_ids"].shape[1]
            for index, layer in enumerate(output.past_key_values.layers):
                buffers.keys[index][rows, :, prompt - width:prompt] = layer.keys
                buffers.values[index][rows, :, prompt - width:prompt] = layer.values
            buffers.logits[rows] = output.logits[:, -1].float()
            # The model's position deltas count from the unpadded prompt length.
            lengths = torch.tensor(chunk.lengths, device=buffers.offsets.device)
            buffers.offsets[rows] = lengths - prompt + self._model.model.rope_deltas.view(-1)
            buffers.starts[rows] = prompt - lengths
            start += count

    def _step(self, buffers: _Buffers) -> None:
        if self._graph is not None:
            self._graph.replay()
        else:
            self._forward(buffers)

    def _forward(self, buffers: _Buffers) -> None:
        """One decode step of the language model: next-token logits of `buffers.tokens` at `buffers.column`."""
        torch = self._torch
        language = self._model.model.language_model
        rows = buffers.rows
        hidden = language.embed_tokens(buffers.tokens)[:, None, :]
        positions = (buffers.column + buffers.offsets).view(1, rows, 1).expand(3, rows, 1)
        cos, sin = language.rotary_emb(hidden, positions)
        for layer, keys, values in zip(language.layers, buffers.keys, buffers.values, strict=True):
            attention = layer.self_attn
            normed = layer.input_layernorm(hidden)
            query = attention.q_norm(attention.q_proj(normed).view(rows, 1, -1, attention.head_dim)).transpose(1, 2)
            key = attention.k_norm(attention.k_proj(normed).view(rows, 1, -1, attention.head_dim)).transpose(1, 2)
            value = attention.v_proj(normed).view(rows, 1, -1, attention.head_dim).transpose(1, 2)
            query, key = self._rotary(query, key, cos, sin)
            keys.index_copy_(2, buffers.column, key)
            values.index_copy_(2, buffers.column, value)
            # The query heads sharing a key/value head stand in for the query positions: one read of the cache.
            grouped = query.reshape(rows, keys.shape[1], -1, attention.head_dim)
            attended = self._attend(grouped, keys, values, buffers, attention.scaling)
            hidden = hidden + attention.o_proj(attended.reshape(rows, 1, -1))
            hidden = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
        buffers.logits.copy_(self._model.lm_head(language.norm(hidden))[:, 0].float())
        buffers.column.add_(1)

    def _select(self, logits: Any, bitmask: Any, sides: Any, closing: bool) -> tuple[Any, Any]:
        """The greedy token of each row under its grammar mask, and its log-probability under the mask.

        When `closing`, the tokens that end an answer soonest win (`sides`: 1 for a row inside a string).
        """
        torch = self._torch
        rows = logits.shape[0]
        allowed = ((bitmask.unsqueeze(-1) >> self._shifts) & 1).bool().view(rows, -1)[:, :logits.shape[1]]
        masked = logits.masked_fill(~allowed, float("-inf"))
        logprobs = torch.log_softmax(masked, dim=-1)
        chosen = (masked + self._bonus[sides] if closing else masked).argmax(dim=-1)
        return chosen, logprobs.gather(1, chosen[:, None])[:, 0]


class _GrammarRows:
    """The CPU side of a batch: each row's matcher, its tokens so far, and the next step's masks."""

    def __init__(self, matchers: list[Any], rows: int, quotes: Sequence[int], end: int, allocate: Any, vocab: int,
                 fill: Any, executor: Any) -> None:
        import torch

        self._matchers = matchers
        self._quotes = quotes
        self._end = end
        self._fill = fill
        self._executor = executor
        self.bitmask = allocate(rows, vocab)
        self.sides = torch.zeros(rows, dtype=torch.long, pin_memory=self.bitmask.is_pinned())
        """1 for a row inside a string value, else 0."""
        self._sides = self.sides.numpy()
        self._mask = self.bitmask.numpy()
        self._stopped = [False] * len(matchers)
        self._ended = [False] * len(matchers)
        self.tokens: list[list[int]] = [[] for _ in matchers]
        self.forced: list[list[bool]] = [[] for _ in matchers]
        self.steps = 0
        self._mask[:] = 0
        self._mask[:, end // 32] = _word(end)

    def fill(self) -> None:
        """Masks and forced tokens for the next token (rows past their end allow only the end token)."""
        self.masks(self.force())

    def force(self) -> list[tuple[Any, int]]:
        """Set the forced token of each row (a forced row's mask allows only it); the rows that need a mask."""
        free = []
        for row, matcher in enumerate(self._matchers):
            forward = [] if self._stopped[row] else matcher.compute_ff_tokens()
            token = forward[0] if forward else self._end
            self.forced[row].append(bool(forward))
            if forward or self._stopped[row]:
                self._mask[row] = 0
                self._mask[row, token // 32] = _word(token)
            else:
                free.append((matcher, row))
        return free

    def masks(self, free: list[tuple[Any, int]]) -> None:
        """The grammar masks of the rows in `free`, computed in parallel (the bench times the two apart)."""
        if free:
            self._fill(self._executor, free, self.bitmask)

    def consume(self, chosen: Sequence[int]) -> None:
        """Feed each row's chosen token to its matcher."""
        self.steps += 1
        for row, matcher in enumerate(self._matchers):
            if self._ended[row]:
                continue
            token = chosen[row]
            if token == self._end:
                self._ended[row] = True
            else:
                self.tokens[row].append(token)
            if self._stopped[row]:
                continue
            if not matcher.consume_token(token):
                raise EngineError(f"the answer grammar rejected token {token}: {matcher.get_error()}")
            self._sides[row] ^= self._quotes[token]
            self._stopped[row] = matcher.is_stopped()

    def finished(self) -> bool:
        return all(self._ended)


def _cache_attention(cuda: bool) -> Any:
    """Decode attention over the cache buffers: the Triton kernel on CUDA where Triton is installed (PyTorch's
    Linux CUDA wheels bring it), else SDPA with a column mask."""
    import importlib.util

    if cuda and importlib.util.find_spec("triton") is not None:
        from workbench.engines.qwen3_vl_attention import decode_attention

        def attend(query: Any, keys: Any, values: Any, buffers: _Buffers, scale: float) -> Any:
            return decode_attention(query, keys, values, buffers.starts, buffers.column, scale)
        return attend

    def attend_masked(query: Any, keys: Any, values: Any, buffers: _Buffers, scale: float) -> Any:
        import torch

        filled = (buffers.columns >= buffers.starts[:, None]) & (buffers.columns <= buffers.column)
        return torch.nn.functional.scaled_dot_product_attention(query, keys, values, attn_mask=filled[:, None, None],
                                                                scale=scale)
    return attend_masked


def _word(token: int) -> int:
    """The int32 bitmask word with only `token`'s bit set."""
    bit = 1 << (token % 32)
    return bit - (1 << 32) if bit >= 1 << 31 else bit
