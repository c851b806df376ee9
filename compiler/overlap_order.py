"""How far apart a kernel's input and output must sit for it to run in place.

A kernel declares an overlap (KernelCall.overlaps: input tensor, byte offset g of the input's
first byte from the output's first byte) when its order of reads and writes lets the input's
buffer start g bytes into the output's: no output byte it writes lands on an input byte it reads
later. This module computes the smallest such g from a model of the kernel's order: a sequence
of *events*, each of which reads some input bytes and then writes some output bytes (a kernel
that loads its operands into registers and then stores the result: an output pixel pair of a
matrix product, one pixel's four channels of a depthwise window). With
    W(t) = the highest output byte written by events 0..t,
    R(t) = the lowest input byte read by events t+1..,
every byte written so far sits below every input byte still to be read when
    W(t) < g + R(t)  for every t,  i.e.  g = max_t (W(t) + 1 - R(t))  (and g >= 0),
rounded up to the arena alignment. That is sufficient for any kernel whose events are as
modelled (it may give away a few bytes where the written bytes would also fit above the input's
end). A kernel that walks its output from the end (a negative block, run backwards: the 1x1
kernel's blocks of pixels and the depthwise kernels' blocks of rows from the last, the portable
depthwise kernel's pixels from the last) takes its input *below* its output instead: with
W'(t) the lowest output byte written by events 0..t and R'(t) the highest input byte read
after t,
    g = min_t (W'(t) - 1 - R'(t))  (and g <= 0),
rounded down. A chain of layers run in place all forwards moves down by each layer's g (its
output starts g bytes lower than its input); alternately forwards and backwards it stays where
it is (the small memory mode offers both directions: compiler/ops/conv.py). Each kernel's order
is stated where it is modelled below (and at the kernel in runtime/), and
tests/test_overlap_kernels.py checks the real code against it on the host and on an emulated
Cortex-M4: each layer at its planned offset computes TFLM's bytes, and 4 bytes closer it does
not.

Offsets are within one tensor, in bytes, batches included (NHWC, batch outermost, as the
kernels walk them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

NO_READ = np.iinfo(np.int64).max  # rmin of an event that reads nothing
NO_READ_END = -1  # its rmax
NO_WRITE = -1  # wmax of an event that writes nothing


def min_gap(reads: np.ndarray, writes: np.ndarray, alignment: int = 4) -> int:
    """g for events in execution order: reads[t] the lowest input byte event t reads (NO_READ
    for none), writes[t] the highest output byte it writes (NO_WRITE for none)."""
    reads = np.asarray(reads, np.int64).ravel()
    writes = np.asarray(writes, np.int64).ravel()
    if reads.size < 2:
        return 0
    written = np.maximum.accumulate(writes)[:-1]
    later = np.minimum.accumulate(reads[::-1])[::-1][1:]
    live = later != NO_READ
    if not live.any():
        return 0
    gap = max(int(np.max(written[live] + 1 - later[live])), 0)
    return -(-gap // alignment) * alignment


def max_gap_below(reads_end: np.ndarray, writes_start: np.ndarray, alignment: int = 4) -> int:
    """g (<= 0) for a kernel whose input sits below its output: reads_end[t] the highest input
    byte event t reads (NO_READ_END for none), writes_start[t] the lowest output byte it writes
    (NO_READ for none)."""
    reads_end = np.asarray(reads_end, np.int64).ravel()
    writes_start = np.asarray(writes_start, np.int64).ravel()
    if reads_end.size < 2:
        return 0
    written = np.minimum.accumulate(writes_start)[:-1]
    later = np.maximum.accumulate(reads_end[::-1])[::-1][1:]
    live = (later != NO_READ_END) & (written != NO_READ)
    if not live.any():
        return 0
    gap = min(int(np.min(written[live] - 1 - later[live])), 0)
    return gap // alignment * alignment


@dataclass(frozen=True)
class Events:
    """A kernel's order: per event (in execution order) the lowest and highest input byte it
    reads and the lowest and highest output byte it writes (reads first)."""

    rmin: np.ndarray
    rmax: np.ndarray
    wmin: np.ndarray
    wmax: np.ndarray

    def gap(self, backward: bool = False, alignment: int = 4) -> int:
        if backward:
            return max_gap_below(self.rmax, self.wmin, alignment)
        return min_gap(self.rmin, self.wmax, alignment)

    @staticmethod
    def join(parts: list[Events]) -> Events:
        return Events(*(np.concatenate([getattr(p, f).ravel() for p in parts])
                        for f in ("rmin", "rmax", "wmin", "wmax")))


@dataclass(frozen=True)
class Geometry:
    """A convolution or pooling window's geometry, as the kernels' params hold it."""

    batches: int
    input_height: int
    input_width: int
    input_depth: int
    filter_height: int
    filter_width: int
    output_height: int
    output_width: int
    output_depth: int
    stride_height: int = 1
    stride_width: int = 1
    dilation_height: int = 1
    dilation_width: int = 1
    pad_height: int = 0
    pad_width: int = 0

    @classmethod
    def of(cls, params: dict) -> Geometry:
        names = cls.__dataclass_fields__
        return cls(**{k: int(v) for k, v in params.items() if k in names})

    @property
    def input_image(self) -> int:
        return self.input_height * self.input_width * self.input_depth

    @property
    def output_image(self) -> int:
        return self.output_height * self.output_width * self.output_depth


def _inside(origin: np.ndarray, dilation: int, taps: int, size: int):
    """Input coordinates of the first and the last filter tap inside [0, size), -1 where none
    is (tinyc_conv_window)."""
    first = np.where(origin < 0, (-origin + dilation - 1) // dilation, 0)
    last = np.where(origin + (taps - 1) * dilation >= size,
                    (size - origin + dilation - 1) // dilation, taps)
    last = np.minimum(last, taps)
    ok = last > first
    return (np.where(ok, origin + first * dilation, -1),
            np.where(ok, origin + (last - 1) * dilation, -1))


def windows(g: Geometry, oy: np.ndarray, ox: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Byte offsets in its image of the first and the last input pixel each window reads (the
    kernels read rows top to bottom, taps left to right, only those inside the input):
    NO_READ / NO_READ_END for a window entirely in the padding."""
    r0, r1 = _inside(oy * g.stride_height - g.pad_height, g.dilation_height, g.filter_height,
                     g.input_height)
    c0, c1 = _inside(ox * g.stride_width - g.pad_width, g.dilation_width, g.filter_width,
                     g.input_width)
    ok = (r0 >= 0) & (c0 >= 0)
    first = (r0.astype(np.int64) * g.input_width + c0) * g.input_depth
    last = (r1.astype(np.int64) * g.input_width + c1) * g.input_depth
    return np.where(ok, first, NO_READ), np.where(ok, last, NO_READ_END)


def _pixels(g: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """(oy, ox) of every output pixel of an image, in raster order."""
    oy, ox = np.divmod(np.arange(g.output_height * g.output_width, dtype=np.int64),
                       g.output_width)
    return oy, ox


def _events(rmin, rmax, wmin, wmax) -> Events:
    shape = np.broadcast_shapes(*(np.shape(a) for a in (rmin, rmax, wmin, wmax)))
    return Events(*(np.broadcast_to(np.asarray(a, np.int64), shape)
                    for a in (rmin, rmax, wmin, wmax)))


def _shifted(e: Events, read: int, write: int) -> Events:
    """The events moved `read` input and `write` output bytes on (another image)."""
    return Events(np.where(e.rmin == NO_READ, NO_READ, e.rmin + read),
                  np.where(e.rmax == NO_READ_END, NO_READ_END, e.rmax + read),
                  e.wmin + write, e.wmax + write)


def _batched(g: Geometry, e: Events, backward: bool = False) -> Events:
    """One image's events for every image, the images in order (last first backwards)."""
    images = range(g.batches - 1, -1, -1) if backward else range(g.batches)
    return Events.join([_shifted(e, b * g.input_image, b * g.output_image) for b in images])


def _read_channels(first: np.ndarray, last: np.ndarray, c0, c1) -> tuple:
    """rmin / rmax of events reading channels [c0, c1] of the pixels first..last."""
    return (np.where(first == NO_READ, NO_READ, first + c0),
            np.where(last == NO_READ_END, NO_READ_END, last + c1))


@lru_cache(maxsize=4096)
def conv_pixel_gap(g: Geometry) -> int:
    """tinyc_conv_s8 and tinyc_conv_grouped_s8 (runtime/conv.h): output pixels in raster order;
    for each, its output channels two at a time (c, c + 1), each pair reading the window (all of
    it, or its group's part: within the window's first and last pixels either way) and then
    storing its two bytes."""
    oy, ox = _pixels(g)
    first, last = windows(g, oy, ox)
    c = np.arange(0, g.output_depth, 2, dtype=np.int64)
    c1 = np.minimum(c + 1, g.output_depth - 1)
    out = np.arange(oy.size, dtype=np.int64)[:, None] * g.output_depth
    rmin, rmax = _read_channels(first[:, None], last[:, None], 0, g.input_depth - 1)
    return _batched(g, _events(rmin, rmax, out + c[None, :], out + c1[None, :])).gap()


@lru_cache(maxsize=4096)
def conv_im2col_gap(g: Geometry) -> int:
    """tinyc_conv_im2col_s8 (runtime/conv.h): output pixels in pairs (i, i + 1) in raster order,
    a last odd one alone; both windows are gathered into the scratch columns, then the matrix
    product writes every channel of both pixels (it reads only the scratch)."""
    oy, ox = _pixels(g)
    first, last = windows(g, oy, ox)
    n = oy.size
    a = np.arange(0, n, 2, dtype=np.int64)
    b = np.minimum(a + 1, n - 1)
    rmin = np.minimum(first[a], first[b])
    rmax = np.maximum(last[a], last[b])
    rmax = np.where(rmax == NO_READ_END, NO_READ_END, rmax + g.input_depth - 1)
    return _batched(g, _events(rmin, rmax, a * g.output_depth,
                               (b + 1) * g.output_depth - 1)).gap()


@lru_cache(maxsize=4096)
def matmul_gap(pixels: int, k: int, channels: int, block: int) -> int:
    """tinyc_conv_1x1_s8 (runtime/conv.h) with pixel_block `block` (0: all pixels): the input's
    pixels (k bytes each, batches flattened) in blocks of |block| pixels, in pixel order (from
    the last block to the first for a negative block: then the input sits below the output);
    in each block, the output channels in pairs (c, c + 1), and for each pair the block's pixels
    in pairs (i, i + 1), a last odd pixel alone (its pair computed twice), each step reading
    both pixels' k bytes and then storing the two channels of both pixels. The same order in the
    assembly (tinyc_conv_pairs_asm: one channel pair's run of pixel pairs, then the odd pixel)
    and in the C loops (tinyc_conv_matmul_body_s8)."""
    backward = block < 0
    size = abs(block)
    size = pixels if size == 0 or size > pixels else size
    c = np.arange(0, channels, 2, dtype=np.int64)
    c1 = np.minimum(c + 1, channels - 1)
    parts = []
    whole = pixels // size * size
    for p0, n, count in ((0, size, pixels // size), (whole, pixels - whole, 1)):
        if n == 0 or count == 0:
            continue
        starts = p0 + np.arange(count, dtype=np.int64) * size  # [blocks]
        a = starts[:, None] + np.arange(0, n, 2, dtype=np.int64)[None, :]  # [blocks, pairs]
        b = np.minimum(a + 1, starts[:, None] + n - 1)
        a, b = a[:, None, :], b[:, None, :]  # [blocks, channel pairs, pixel pairs]
        e = _events(a * k, (b + 1) * k - 1, a * channels + c[None, :, None],
                    b * channels + c1[None, :, None])
        parts.append(e)
    blocks = [Events(*(getattr(p, f)[i] for f in ("rmin", "rmax", "wmin", "wmax")))
              for p in parts for i in range(p.rmin.shape[0])]
    if backward:
        blocks.reverse()
    return Events.join(blocks).gap(backward)


def depthwise_grouping(channels: int, multiplier: int) -> int:
    """How many output channels the depthwise kernels take four at a time
    (tinyc_depthwise_pixel_s8, depthwise_filter_blocks)."""
    return channels // 4 * 4 if multiplier == 1 or multiplier % 4 == 0 else 0


@lru_cache(maxsize=4096)
def depthwise_pixel_gap(g: Geometry, multiplier: int, backward: bool = False) -> int:
    """tinyc_depthwise_conv_general_s8 (runtime/depthwise_conv.h): output pixels in raster
    order (from the last to the first backwards); for each, its output channels four at a time
    (those depthwise_grouping takes), then one at a time, each step reading the window's taps
    of its input channel(s) c / multiplier and then storing."""
    oy, ox = _pixels(g)
    first, last = windows(g, oy, ox)
    grouped = depthwise_grouping(g.output_depth, multiplier)
    c0 = np.concatenate([np.arange(0, grouped, 4), np.arange(grouped, g.output_depth)])
    c1 = np.concatenate([np.arange(3, grouped, 4), np.arange(grouped, g.output_depth)])
    out = np.arange(oy.size, dtype=np.int64)[:, None] * g.output_depth
    rmin, rmax = _read_channels(first[:, None], last[:, None], c0[None, :] // multiplier,
                                c1[None, :] // multiplier)
    e = _events(rmin, rmax, out + c0[None, :], out + c1[None, :])
    if backward:
        e = Events(*(getattr(e, f)[::-1] for f in ("rmin", "rmax", "wmin", "wmax")))
    return _batched(g, e, backward).gap(backward)


@lru_cache(maxsize=4096)
def depthwise_rows_gap(g: Geometry, row_block: int) -> int:
    """The four-channel Arm kernels of runtime/depthwise_conv.h (depth multiplier 1, channels a
    multiple of 4) with row_block `row_block` (0: all rows): output rows in blocks of
    |row_block|, top to bottom (bottom to top for a negative one); in each block the channel
    groups c..c+3 in order, and for each group the block's pixels in raster order, each reading
    its window's taps of channels c..c+3 and then storing its four bytes."""
    backward = row_block < 0
    rows = g.output_height if row_block == 0 else abs(row_block)
    oy, ox = _pixels(g)
    first, last = windows(g, oy, ox)
    pixel = np.arange(oy.size, dtype=np.int64)
    c = np.arange(0, g.output_depth, 4, dtype=np.int64)[:, None]
    blocks = []
    for y0 in range(0, g.output_height, rows):
        inside = (oy >= y0) & (oy < y0 + rows)
        rmin, rmax = _read_channels(first[inside][None, :], last[inside][None, :], c, c + 3)
        out = pixel[inside][None, :] * g.output_depth
        blocks.append(_events(rmin, rmax, out + c, out + c + 3))
    if backward:
        blocks.reverse()
    return _batched(g, Events.join(blocks), backward).gap(backward)


@lru_cache(maxsize=4096)
def pool_gap(g: Geometry) -> int:
    """runtime/pooling.h: output pixels in raster order, for each its channels one at a time,
    each reading the window's values of that channel (the window clipped to the input, never
    empty) and then storing one value. In elements (alignment 1): the caller scales by the
    element size."""
    oy, ox = _pixels(g)
    first, last = windows(g, oy, ox)
    c = np.arange(g.output_depth, dtype=np.int64)[None, :]
    out = np.arange(oy.size, dtype=np.int64)[:, None] * g.output_depth
    rmin, rmax = _read_channels(first[:, None], last[:, None], c, c)
    return _batched(g, _events(rmin, rmax, out + c, out + c)).gap(alignment=1)
