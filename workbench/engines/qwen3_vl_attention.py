"""Decode-step attention over a static key/value cache that reads only each row's filled columns (Triton, CUDA).

`decode_attention(query, keys, values, starts, column, scale)` attends the query heads of each key/value
head (grouped query attention, no repeated keys) to the columns `starts[row]..column` of the cache and
nothing else, so the left padding of short prompts and the empty columns after `column` are never read.
Each row's columns are cut into pieces of `SPLIT` counted from its own first column (split-key flash
decoding) and the pieces are merged in a fixed order, so a row's result does not depend on the other rows
of its batch or on where its columns lie in the buffer.
"""

from typing import Any

import torch
import triton
import triton.language as tl

SPLIT = 256
"""Cache columns of one row read by one program."""
BLOCK = 64
"""Cache columns loaded at a time."""


@triton.jit
def _pieces(query, keys, values, starts, column, maxima, sums, partial, scale,
            query_row, query_head, query_group, key_row, key_head, key_column,
            value_row, value_head, value_column,
            HEADS: tl.constexpr, GROUP: tl.constexpr, GROUP_PAD: tl.constexpr, DIM: tl.constexpr,
            PIECES: tl.constexpr, SPLIT: tl.constexpr, BLOCK: tl.constexpr, PRECISION: tl.constexpr):
    """One piece of one row and key/value head: its softmax maximum, sum and unnormalised output."""
    program = tl.program_id(0)
    piece = tl.program_id(1)
    row = program // HEADS
    head = program % HEADS
    low = tl.load(starts + row) + piece * SPLIT
    high = tl.minimum(low + SPLIT, tl.load(column) + 1)
    group = tl.arange(0, GROUP_PAD)
    dim = tl.arange(0, DIM)
    queries = tl.load(query + row * query_row + head * query_head + group[:, None] * query_group + dim[None, :],
                      mask=group[:, None] < GROUP, other=0.0)
    maximum = tl.full([GROUP_PAD], float("-inf"), tl.float32)
    total = tl.zeros([GROUP_PAD], tl.float32)
    output = tl.zeros([GROUP_PAD, DIM], tl.float32)
    key_base = keys + row * key_row + head * key_head
    value_base = values + row * value_row + head * value_head
    for offset in range(0, SPLIT, BLOCK):
        # Blocks past the row's last column are skipped.
        if low + offset < high:
            columns = low + offset + tl.arange(0, BLOCK)
            inside = columns < high
            block = tl.load(key_base + columns[:, None] * key_column + dim[None, :], mask=inside[:, None],
                            other=0.0)
            scores = tl.dot(queries, tl.trans(block), input_precision=PRECISION) * scale
            scores = tl.where(inside[None, :], scores, float("-inf"))
            largest = tl.maximum(maximum, tl.max(scores, 1))
            weights = tl.exp(scores - largest[:, None])
            shrink = tl.exp(maximum - largest)
            total = total * shrink + tl.sum(weights, 1)
            block = tl.load(value_base + columns[:, None] * value_column + dim[None, :], mask=inside[:, None],
                            other=0.0)
            output = output * shrink[:, None] + tl.dot(weights.to(block.dtype), block, input_precision=PRECISION)
            maximum = largest
    real = group < GROUP
    at = (program * PIECES + piece) * GROUP + group
    tl.store(maxima + at, maximum, mask=real)
    tl.store(sums + at, total, mask=real)
    tl.store(partial + at[:, None] * DIM + dim[None, :], output, mask=real[:, None])


@triton.jit
def _merge(maxima, sums, partial, out, out_row, out_head, out_group, HEADS: tl.constexpr, GROUP: tl.constexpr,
           GROUP_PAD: tl.constexpr, DIM: tl.constexpr, PIECES: tl.constexpr):
    """The attention output of one row and key/value head from its pieces, merged in order."""
    program = tl.program_id(0)
    row = program // HEADS
    head = program % HEADS
    group = tl.arange(0, GROUP_PAD)
    dim = tl.arange(0, DIM)
    real = group < GROUP
    maximum = tl.full([GROUP_PAD], float("-inf"), tl.float32)
    total = tl.zeros([GROUP_PAD], tl.float32)
    output = tl.zeros([GROUP_PAD, DIM], tl.float32)
    for piece in range(PIECES):
        at = (program * PIECES + piece) * GROUP + group
        piece_maximum = tl.load(maxima + at, mask=real, other=float("-inf"))
        largest = tl.maximum(maximum, piece_maximum)
        # A piece past the row's last column is empty (maximum -inf): it adds nothing.
        anchor = tl.where(largest == float("-inf"), 0.0, largest)
        shrink = tl.exp(maximum - anchor)
        grow = tl.exp(piece_maximum - anchor)
        total = total * shrink + tl.load(sums + at, mask=real, other=0.0) * grow
        output = output * shrink[:, None] + tl.load(partial + at[:, None] * DIM + dim[None, :], mask=real[:, None],
                                                    other=0.0) * grow[:, None]
        maximum = largest
    output = output / tl.where(total == 0.0, 1.0, total)[:, None]
    tl.store(out + row * out_row + head * out_head + group[:, None] * out_group + dim[None, :],
             output.to(out.dtype.element_ty), mask=real[:, None])


def decode_attention(query: Any, keys: Any, values: Any, starts: Any, column: Any, scale: float) -> Any:
    """Attention of one new token per row over cache columns `starts[row]..column` (both ends included).

    query: (rows, kv_heads, group, dim), the query heads grouped by the key/value head they share;
    keys, values: (rows, kv_heads, length, dim) with unit stride in dim; starts: (rows,) integers; column:
    a one-element integer tensor. Returns a tensor shaped like `query`.
    """
    rows, heads, group, dim = query.shape
    pieces = -(-keys.shape[2] // SPLIT)
    group_pad = max(16, triton.next_power_of_2(group))
    maxima = torch.empty((rows * heads, pieces, group), dtype=torch.float32, device=query.device)
    sums = torch.empty_like(maxima)
    partial = torch.empty((rows * heads, pieces, group, dim), dtype=torch.float32, device=query.device)
    out = torch.empty_like(query)
    precision = "ieee" if query.dtype == torch.float32 else "tf32"
    _pieces[(rows * heads, pieces)](
        query, keys, values, starts, column, maxima, sums, partial, scale,
        query.stride(0), query.stride(1), query.stride(2), keys.stride(0), keys.stride(1), keys.stride(2),
        values.stride(0), values.stride(1), values.stride(2),
        HEADS=heads, GROUP=group, GROUP_PAD=group_pad, DIM=dim, PIECES=pieces, SPLIT=SPLIT, BLOCK=BLOCK,
        PRECISION=precision, num_warps=4, num_stages=2)
    _merge[(rows * heads,)](
        maxima, sums, partial, out, out.stride(0), out.stride(1), out.stride(2),
        HEADS=heads, GROUP=group, GROUP_PAD=triton.next_power_of_2(group), DIM=dim, PIECES=pieces, num_warps=4)
    return out
