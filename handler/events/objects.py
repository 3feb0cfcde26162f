"""S3 objects scored as a stream: CSV, JSON Lines and .npy read in chunks of the model's batch size.

Memory holds one chunk and the output not yet sent, whatever the object's size: one part for S3,
up to 500 predictions for the other AWS destinations. The `return` destination is the exception:
it keeps every row's prediction for the response.
"""

from __future__ import annotations

import csv
import json
import struct
from collections.abc import Callable, Iterator
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any

import numpy as np

from handler.codec import dumps
from handler.errors import InvalidInput
from handler.events.deadline import Deadline, DeadlineReached
from handler.events.destinations import CollectingSink, JsonLinesSink, Writer
from handler.events.records import SCORED_FROM, ObjectRef
from handler.events.types import ObjectSummary
from handler.instances import predictions, rows_from_records, to_tensor
from handler.store import Model, ModelStore, TensorSpec

READ_BYTES = 1024 * 1024
Outputs = dict[str, np.ndarray]
Chunk = tuple[list[Any], dict[str, np.ndarray]]
"""One chunk of an object: the rows' ids and the model's input tensors for them."""
Reader = Callable[[Any, Model, str, int], Iterator[Chunk]]
_scan_line: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def score_object(
    ref: ObjectRef, *, s3: Any, store: ModelStore, writer: Writer, id_field: str, deadline: Deadline
) -> ObjectSummary | None:
    """Read, score and write one object chunk by chunk; raises if any part of it fails.

    Returns None, scoring nothing, for an object this function wrote (it carries SCORED_FROM).
    """
    reader = reader_for(ref.key)
    request: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        request["VersionId"] = ref.version_id
    response = s3.get_object(**request)
    if response.get("ContentLength") == 0:
        # A zero-byte object is usually an upload that went wrong; succeeding on it would hide that.
        response["Body"].close()
        raise InvalidInput(f"{ref.url} is empty (0 bytes): there is nothing to score")
    metadata = {name.lower(): value for name, value in response.get("Metadata", {}).items()}
    if SCORED_FROM in metadata:
        response["Body"].close()
        return None
    model = store.get(metadata.get("model") or None, metadata.get("model-version") or None)
    body = response["Body"]
    sink = writer.open_object(ref, model, deadline)
    text_sink = sink if isinstance(sink, JsonLinesSink) else None
    lines = JsonLines(id_field)
    rows = 0
    try:
        for ids, inputs in reader(body, model, id_field, model.max_batch_size):
            if deadline.expired():
                raise DeadlineReached(deadline.margin_ms)
            model.check(inputs)
            results = model.run(inputs)
            if text_sink is not None:
                text_sink.write_jsonl(lines.encode(ids, results))
            else:
                sink.write(documents(ids, results, id_field))
            rows += len(ids)
        output = sink.close()
    except BaseException:
        sink.abort()
        raise
    finally:
        body.close()
    summary: ObjectSummary = {
        "bucket": ref.bucket,
        "key": ref.key,
        "rows": rows,
        "model_name": model.name,
        "model_version": model.version,
        "output": output,
    }
    if isinstance(sink, CollectingSink):
        summary["results"] = sink.documents
    return summary


def documents(ids: list[Any], results: Outputs, id_field: str) -> list[dict[str, Any]]:
    """One `{id_field: id, "prediction": ...}` document per row."""
    return [
        {id_field: row_id, "prediction": value}
        for row_id, value in zip(ids, predictions(results), strict=True)
    ]


class JsonLines:
    """Rows' documents written straight as JSON Lines text, the same bytes `dumps` gives each one.

    Each output is serialised as one array and split into its rows' texts, and every line is then
    filled into one `%` template: per row, that is one format instead of building a document of
    lists and dicts and serialising it.
    """

    def __init__(self, id_field: str) -> None:
        self.id_field = id_field
        self._templates: dict[tuple[tuple[str, int], ...], str] = {}

    def encode(self, ids: list[Any], results: Outputs) -> bytes:
        """The JSON Lines of `documents(ids, results, id_field)`."""
        columns = [_value_texts(ids)]
        for array in results.values():
            texts = _row_texts(array, len(ids))
            if texts is None:
                return b"".join(
                    dumps(document) + b"\n" for document in documents(ids, results, self.id_field)
                )
            columns.append(texts)
        template = self._template(results)
        return "".join([template % row for row in zip(*columns, strict=True)]).encode()

    def _template(self, results: Outputs) -> str:
        key = tuple((name, array.ndim) for name, array in results.items())
        template = self._templates.get(key)
        if template is None:
            slots = {name: "[" * (ndim - 1) + "%s" + "]" * (ndim - 1) for name, ndim in key}
            if len(slots) == 1:
                (prediction,) = slots.values()
            else:
                prediction = "{" + ",".join(f"{_key(name)}:{slot}" for name, slot in slots.items()) + "}"
            template = "{" + _key(self.id_field) + ':%s,"prediction":' + prediction + "}\n"
            self._templates[key] = template
        return template


def _key(name: str) -> str:
    return _json_string(name).replace("%", "%%")


def _value_texts(values: list[Any]) -> list[str]:
    return [
        _json_string(value)
        if type(value) is str
        else str(value)
        if type(value) is int
        else dumps(value).decode()
        for value in values
    ]


def _row_texts(array: np.ndarray, rows: int) -> list[str] | None:
    """Each row's JSON text, without the brackets of its outer dimensions; None if not splittable.

    A numeric array's JSON holds no strings, so the text between two rows is exactly `],[`
    repeated to the array's depth, and nowhere else.
    """
    if array.dtype.kind not in "biuf" or not array.ndim or array.shape[0] != rows or 0 in array.shape:
        return None
    depth = array.ndim
    text = dumps(array.tolist()).decode()[depth:-depth]
    texts = text.split("]" * (depth - 1) + "," + "[" * (depth - 1))
    return texts if len(texts) == rows else None


def reader_for(key: str) -> Reader:
    """The reader for the object's format, chosen by its extension."""
    lowered = key.lower()
    if lowered.endswith(".csv"):
        return csv_chunks
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return jsonl_chunks
    if lowered.endswith(".npy"):
        return npy_chunks
    raise InvalidInput(f"s3 object {key!r} is not .csv, .jsonl, .ndjson, .json or .npy")


def line_blocks(body: Any, rows: int) -> Iterator[list[bytes]]:
    """Non-blank lines of a streamed body, `rows` at a time."""
    pending = b""
    block: list[bytes] = []
    for data in body.iter_chunks(READ_BYTES):
        text = pending + data
        lines = text.split(b"\n")
        pending = lines.pop()
        block += _non_blank(lines, b"\r" in text)
        start = 0
        while len(block) - start >= rows:
            yield block[start : start + rows]
            start += rows
        del block[:start]
    block += _non_blank([pending], True)
    for start in range(0, len(block), rows):
        yield block[start : start + rows]


def _non_blank(lines: list[bytes], carriage_returns: bool) -> list[bytes]:
    # Checked for the whole list in C first: most objects have no CR line ends and no blank lines.
    if carriage_returns:
        lines = [line.rstrip(b"\r") for line in lines]
    if b"" in lines:
        lines = [line for line in lines if line]
    return lines


def _table_input(model: Model, what: str) -> Any:
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 2:
        raise InvalidInput(
            f"model '{model.name}' does not take one 2-D input, so it cannot score {what}; "
            f"its inputs: {[spec.describe() for spec in model.inputs]}"
        )
    return model.inputs[0]


def csv_chunks(body: Any, model: Model, id_field: str, rows: int) -> Iterator[Chunk]:
    """CSV with a header row: the model's features picked by column name, ids from the id column."""
    spec = _table_input(model, "CSV")
    blocks = line_blocks(body, rows)
    first = next(blocks, [])
    if not first:
        return
    header = next(csv.reader([first[0].decode("utf-8-sig")]))
    features = list(model.features) or [name for name in header if name != id_field]
    absent = [name for name in features if name not in header]
    if absent:
        raise InvalidInput(f"CSV header {header} lacks the model's features {absent}")
    columns = [header.index(name) for name in features]
    id_column = header.index(id_field) if id_field in header else None
    # numpy's C reader takes every line of plain numeric CSV (the usual case) in one call; ids
    # stay the column's text, so an id column that is also a feature takes the careful path.
    row_dtype = (
        np.dtype([(f"c{index}", spec.dtype if index in columns else object) for index in range(len(header))])
        if spec.dtype.kind == "f" and id_column not in columns
        else None
    )
    line = 2
    start = 0
    for block in _chain([first[1:]], blocks):
        if not block:
            continue
        text = b"\n".join(block).decode()
        parsed = None
        if row_dtype is not None and '"' not in text:
            parsed = _numeric_table(text, row_dtype, columns, id_column)
        if parsed is None:
            # Quoted fields, a non-float input, or a line numpy refused: read it again field by
            # field, which names the line that is wrong.
            parsed = _string_table(text, header, spec, columns, id_column, line)
        values, ids = parsed
        yield ids if ids is not None else list(range(start, start + len(block))), {spec.name: values}
        line += len(block)
        start += len(block)


def _numeric_table(
    text: str, row_dtype: np.dtype[Any], columns: list[int], id_column: int | None
) -> tuple[np.ndarray, list[Any] | None] | None:
    """The feature columns and ids of a block parsed by `np.loadtxt`; None if it refuses any line."""
    lines = text.split("\n")
    try:
        table = np.loadtxt(lines, dtype=row_dtype, delimiter=",", comments=None, ndmin=1)
    except ValueError:
        return None
    if len(table) != len(lines):  # loadtxt skips blank lines; a row each is what the ids count on
        return None
    first = table[f"c{columns[0]}"]
    values = np.empty((len(table), len(columns)), dtype=first.dtype)
    for position, column in enumerate(columns):
        values[:, position] = table[f"c{column}"]
    return values, table[f"c{id_column}"].tolist() if id_column is not None else None


def _string_table(
    text: str, header: list[str], spec: TensorSpec, columns: list[int], id_column: int | None, line: int
) -> tuple[np.ndarray, list[Any] | None]:
    """The feature columns and ids of a block split field by field; raises naming a bad line."""
    parsed = (
        list(csv.reader(text.split("\n"))) if '"' in text else [row.split(",") for row in text.split("\n")]
    )
    try:
        table = np.array(parsed, dtype=str)
    except ValueError:
        widths = [len(row) for row in parsed]
        bad = next(index for index, width in enumerate(widths) if width != len(header))
        raise InvalidInput(
            f"CSV line {line + bad} has {widths[bad]} fields; the header has {len(header)}"
        ) from None
    if table.ndim != 2 or table.shape[1] != len(header):
        raise InvalidInput(f"CSV lines {line}-{line + len(parsed) - 1} do not have {len(header)} fields each")
    try:
        values = table[:, columns].astype(spec.dtype)
    except ValueError as exc:
        raise InvalidInput(
            f"CSV lines {line}-{line + len(parsed) - 1} hold a non-numeric feature: {exc}"
        ) from None
    return values, table[:, id_column].tolist() if id_column is not None else None


def _chain(*parts: Any) -> Iterator[list[bytes]]:
    for part in parts:
        yield from part


def _line_label(first: int) -> Callable[[int], str]:
    """How an error names the record at an index of a block whose first line is `first` (1-based)."""
    return lambda index: f"JSON Lines line {first + index}"


def jsonl_chunks(body: Any, model: Model, id_field: str, rows: int) -> Iterator[Chunk]:
    """JSON Lines: each line a named-feature object (its id field kept) or a list of feature values."""
    spec = _table_input(model, "JSON Lines")
    start = 0
    for block in line_blocks(body, rows):
        documents = []
        for offset, line in enumerate(block):
            try:
                documents.append(_json_line(line))
            except ValueError as exc:
                raise InvalidInput(f"JSON Lines line {start + offset + 1} is not valid JSON: {exc}") from None
        if all(isinstance(document, dict) for document in documents):
            ids = [document.get(id_field, start + offset) for offset, document in enumerate(documents)]
            tensor = rows_from_records(documents, model, _line_label(start + 1))
        elif all(isinstance(document, list) for document in documents):
            ids = list(range(start, start + len(documents)))
            tensor = to_tensor(documents, spec)
        else:
            raise InvalidInput(
                f"JSON Lines lines {start + 1}-{start + len(block)} mix objects and lists; use one kind"
            )
        yield ids, {spec.name: tensor}
        start += len(block)


def _json_line(line: bytes) -> Any:
    """One line's document, as `json.loads(line)` gives it."""
    # The C scanner alone when it reads the whole line (the usual case): json.loads adds encoding
    # detection and two regex matches, half the cost of a short line. Anything else goes through
    # json.loads, for the same document or the same error.
    try:
        text = line.decode()
        document, end = _scan_line(text, 0)
    except (UnicodeDecodeError, StopIteration, ValueError):
        return json.loads(line)
    return document if end == len(text) else json.loads(line)


def npy_chunks(body: Any, model: Model, id_field: str, rows: int) -> Iterator[Chunk]:
    """A .npy array whose first axis is rows: the header read first, then rows in chunks."""
    if len(model.inputs) != 1:
        raise InvalidInput(f"model '{model.name}' has several inputs, so it cannot score a .npy array")
    spec = model.inputs[0]
    dtype, shape = _npy_header(body)
    if len(shape) != len(spec.shape) or any(
        want >= 0 and got != want for got, want in zip(shape[1:], spec.shape[1:], strict=True)
    ):
        raise InvalidInput(
            f".npy array has shape {list(shape)}; model '{model.name}' expects {spec.describe()}"
        )
    if not np.can_cast(dtype, spec.dtype, "same_kind"):
        raise InvalidInput(f".npy array holds {dtype}; model '{model.name}' expects {spec.describe()}")
    row_shape = shape[1:]
    row_bytes = int(np.prod(row_shape, dtype=np.int64)) * dtype.itemsize
    for start in range(0, shape[0], rows):
        count = min(rows, shape[0] - start)
        data = _read_exactly(body, count * row_bytes)
        array = np.frombuffer(data, dtype=dtype).reshape(count, *row_shape).astype(spec.dtype)
        yield list(range(start, start + count)), {spec.name: array}


def _npy_header(body: Any) -> tuple[np.dtype[Any], tuple[int, ...]]:
    import ast  # only .npy objects need it; keeps 2.5 ms out of every cold start

    magic = _read_exactly(body, 8)
    if magic[:6] != b"\x93NUMPY":
        raise InvalidInput("object is not a .npy file (bad magic)")
    size_format = "<H" if magic[6] == 1 else "<I"
    (length,) = struct.unpack(size_format, _read_exactly(body, struct.calcsize(size_format)))
    try:
        header = ast.literal_eval(_read_exactly(body, length).decode("latin1"))
        dtype = np.dtype(header["descr"])
        shape = tuple(int(dim) for dim in header["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError) as exc:
        raise InvalidInput(f".npy header is not readable: {exc}") from None
    if header.get("fortran_order"):
        raise InvalidInput(".npy array is in Fortran order; save it C-ordered to stream it by rows")
    if dtype.hasobject or not shape:
        raise InvalidInput(".npy array must be numeric with at least one dimension")
    return dtype, shape


def _read_exactly(body: Any, size: int) -> bytes:
    parts = []
    left = size
    while left:
        data = body.read(left)
        if not data:
            raise InvalidInput(f".npy data ends early: {left} bytes missing")
        parts.append(data)
        left -= len(data)
    return b"".join(parts)
