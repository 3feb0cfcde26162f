"""Streaming readers: lines across read boundaries, and .npy headers of both versions."""

from __future__ import annotations

import io

import numpy as np
import pytest

from handler.events import objects
from handler.events.objects import line_blocks, npy_chunks


class Body:
    """A StreamingBody stand-in serving `data` in reads of `size` bytes."""

    def __init__(self, data: bytes, size: int = 7) -> None:
        self.stream = io.BytesIO(data)
        self.size = size

    def iter_chunks(self, chunk_size: int):
        while data := self.stream.read(self.size):
            yield data

    def read(self, amount: int) -> bytes:
        return self.stream.read(min(amount, self.size))


def test_lines_split_across_reads_come_out_whole_in_blocks():
    data = b"alpha\r\nbeta\n\ngamma\ndelta-without-newline"
    assert list(line_blocks(Body(data), 3)) == [[b"alpha", b"beta", b"gamma"], [b"delta-without-newline"]]


@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_npy_rows_are_read_in_chunks_after_the_header(store, version, monkeypatch):
    array = np.arange(40, dtype=np.float64).reshape(10, 4)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    chunks = list(npy_chunks(Body(buffer.getvalue(), size=13), store.get("iris"), "id", 4))
    assert [ids for ids, _ in chunks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    stacked = np.concatenate([inputs["input"] for _, inputs in chunks])
    assert stacked.dtype == np.float32
    assert np.array_equal(stacked, array.astype(np.float32))
    assert objects.READ_BYTES > 0
