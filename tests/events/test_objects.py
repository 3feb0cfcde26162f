"""Streaming readers (lines across read boundaries, CSV by numpy or field by field, .npy headers) and
the JSON Lines written for each chunk."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from handler.codec import dumps
from handler.errors import InvalidInput
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


def csv_body(lines: list[str]) -> Body:
    return Body(("\n".join(lines) + "\n").encode(), size=64)


def test_plain_and_quoted_csv_chunks_read_the_same_ids_and_features(store):
    model = store.get("iris")
    header = "petal_width,name,sepal_length,sepal_width,petal_length"
    rows = [[0.1 * index, f" row {index}\\", 1.25, 2.5e-3, -3.0 + index] for index in range(9)]
    plain = [header] + [",".join(str(cell) for cell in row) for row in rows]
    # A quote anywhere in a chunk sends it through the csv module instead of numpy's reader.
    quoted = [header] + [",".join(f'"{cell}"' for cell in row) for row in rows]
    read = [list(objects.csv_chunks(csv_body(lines), model, "name", 4)) for lines in (plain, quoted)]
    for chunks in read:
        assert len(chunks) == 3
        assert [row_id for ids, _ in chunks for row_id in ids] == [row[1] for row in rows]
        values = np.concatenate([inputs["input"] for _, inputs in chunks])
        assert values.dtype == np.float32
        want = np.array([[row[2], row[3], row[4], row[0]] for row in rows], dtype=np.float32)
        assert np.array_equal(values, want)


def test_csv_rows_without_an_id_column_are_numbered_and_hash_is_data_not_a_comment(store):
    lines = ["sepal_length,sepal_width,petal_length,petal_width,note", "1,2,3,4,#first", "5,6,7,8,# second"]
    chunks = list(objects.csv_chunks(csv_body(lines), store.get("iris"), "id", 10))
    assert [ids for ids, _ in chunks] == [[0, 1]]
    assert chunks[0][1]["input"].tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("9,9,9,9,9", "CSV line 4 has 5 fields; the header has 4"),
        ("9,9,9", "CSV line 4 has 3 fields; the header has 4"),
        ("9,,9,9", "CSV lines 2-5 hold a non-numeric feature"),
        ("9,nine,9,9", "CSV lines 2-5 hold a non-numeric feature"),
    ],
    ids=["extra-field", "missing-field", "empty-field", "word"],
)
def test_a_bad_csv_line_among_good_ones_is_named(store, bad, reason):
    lines = ["sepal_length,sepal_width,petal_length,petal_width", "1,2,3,4", "1,2,3,4", bad, "1,2,3,4"]
    with pytest.raises(InvalidInput, match=reason):
        list(objects.csv_chunks(csv_body(lines), store.get("iris"), "id", 10))


def documents_as_dumps(ids: list, results: dict[str, np.ndarray], id_field: str) -> bytes:
    return b"".join(dumps(document) + b"\n" for document in objects.documents(ids, results, id_field))


ROWS = 5
RESULTS = {
    "classifier": {
        "label": np.array([0, 2, 1, 1, 0], dtype=np.int64),
        "probabilities": np.random.default_rng(1).random((ROWS, 3)).astype(np.float32),
    },
    "regressor": {"prediction": np.random.default_rng(2).normal(size=(ROWS, 1)).astype(np.float32)},
    "vector": {"score": np.linspace(-1, 1, ROWS)},
    "rank-3 and bool": {
        "map": np.arange(ROWS * 6, dtype=np.int32).reshape(ROWS, 2, 3),
        "flag": np.array([True, False, True, True, False]),
        "100%": np.zeros((ROWS, 2), dtype=np.uint8),
    },
    "non-finite": {"value": np.array([[np.nan, 1.0], [np.inf, -np.inf], [0, 1], [2, 3], [4, 5]])},
    "empty rows": {"nothing": np.zeros((ROWS, 0), dtype=np.float32)},
    "strings": {"name": np.array(["a,b", '"c"', "d", "e", "f"], dtype=object)},
}
IDS = {
    "strings": ["r1", 'quote"d', "comma,", "back\\slash", "é🙂"],
    "integers": list(range(10, 10 + ROWS)),
    "any JSON": [None, 1.5, True, ["x", "y"], {"k": "v"}],
}


@pytest.mark.parametrize("ids", IDS.values(), ids=list(IDS))
@pytest.mark.parametrize("results", RESULTS.values(), ids=list(RESULTS))
@pytest.mark.parametrize("id_field", ["id", 'row "%s" id'])
def test_json_lines_are_the_bytes_dumps_gives_each_document(ids, results, id_field):
    text = objects.JsonLines(id_field).encode(ids, results)
    assert text == documents_as_dumps(ids, results, id_field)
    assert [json.loads(line)[id_field] for line in text.splitlines()] == ids


def test_json_lines_are_read_as_json_loads_reads_each_line(store):
    rest = b'"sepal_width": 2, "petal_length": 3, "petal_width": 4}'
    lines = [
        b'{"id": "a", "sepal_length": 1, ' + rest,
        b'  {"id": "b", "sepal_length": 5, ' + rest + b"  \r",
        b'\xef\xbb\xbf{"id": "\\u00e9", "sepal_length": 1.5, ' + rest,  # a BOM, as json.loads allows
    ]
    ((ids, inputs),) = objects.jsonl_chunks(Body(b"\n".join(lines)), store.get("iris"), "id", 10)
    assert ids == ["a", "b", "é"]
    assert inputs["input"].tolist() == [[1, 2, 3, 4], [5, 2, 3, 4], [1.5, 2, 3, 4]]


@pytest.mark.parametrize(
    "bad",
    [b'{"sepal_length": 1} {"sepal_length": 2}', b'{"sepal_length": 1', b"\xff{}", b"[1, 2"],
    ids=["two-documents", "unclosed", "not-utf-8", "unclosed-list"],
)
def test_a_bad_json_line_is_named(store, bad):
    good = b'{"sepal_length": 1, "sepal_width": 2, "petal_length": 3, "petal_width": 4}'
    with pytest.raises(InvalidInput, match="JSON Lines line 2 is not valid JSON"):
        list(objects.jsonl_chunks(Body(b"\n".join([good, bad, good])), store.get("iris"), "id", 10))


@pytest.mark.parametrize("rows", [10, 2], ids=["one-block", "second-block"])
def test_a_json_line_missing_a_feature_is_named_by_its_line(store, rows):
    good = b'{"sepal_length": 1, "sepal_width": 2, "petal_length": 3, "petal_width": 4}'
    lines = [good, good, good, b'{"sepal_length": 1}']

    with pytest.raises(InvalidInput, match=r"^JSON Lines line 4 is missing features \['sepal_width'"):
        list(objects.jsonl_chunks(Body(b"\n".join(lines)), store.get("iris"), "id", rows))


def test_an_id_column_that_is_also_a_feature_keeps_its_text(store):
    lines = ["sepal_length,sepal_width,petal_length,petal_width", "1.50,2,3,4", "5,6,7,8"]
    chunks = list(objects.csv_chunks(csv_body(lines), store.get("iris"), "sepal_length", 10))
    assert [ids for ids, _ in chunks] == [["1.50", "5"]]
    assert chunks[0][1]["input"].tolist() == [[1.5, 2, 3, 4], [5, 6, 7, 8]]
