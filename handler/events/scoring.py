"""Vectorised scoring: every decoded record of one model stacked into as few session runs as the
model's batch limit allows, and the outputs split back per record."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from handler.errors import OnnxLambdaError
from handler.events.deadline import Deadline
from handler.events.grouping import groups
from handler.events.records import Decoded
from handler.instances import predictions
from handler.store import Model, first_line

Outputs = dict[str, np.ndarray]
DEADLINE_REASON = "not scored: the invocation was about to time out"


class Scored(NamedTuple):
    """One record's share of its chunk's session run: output tensors and per-row predictions."""

    decoded: Decoded
    outputs: Outputs
    rows: list[Any]


def score(
    decoded: Sequence[Decoded],
    deadline: Deadline,
    fail: Callable[[Decoded, str], None],
) -> list[Scored]:
    """Score the records, one `model.run` per chunk; returns each scored record in input order."""
    if len(decoded) == 1:
        # One record, one chunk (its rows passed the model's batch check): the common invocation.
        if deadline.expired():
            fail(decoded[0], DEADLINE_REASON)
            return []
        return [result for result in _run(decoded[0].model, [decoded[0]], fail) if result is not None]
    # Records stack only with records of the same model whose inputs agree past the first
    # dimension (token ids of different lengths do not): each such set is chunked on its own.
    stacks: dict[tuple[Any, ...], list[int]] = {}
    for position, item in enumerate(decoded):
        shapes = tuple(item.inputs[spec.name].shape[1:] for spec in item.model.inputs)
        stacks.setdefault((id(item.model), shapes), []).append(position)
    scored: dict[int, Scored] = {}
    for positions in stacks.values():
        model = decoded[positions[0]].model
        for chunk in _chunks(positions, decoded, model):
            if deadline.expired():
                for position in chunk:
                    fail(decoded[position], DEADLINE_REASON)
                continue
            items = [decoded[position] for position in chunk]
            for position, result in zip(chunk, _run(model, items, fail), strict=True):
                if result is not None:
                    scored[position] = result
    return [scored[position] for position in sorted(scored)]


def _chunks(positions: list[int], decoded: Sequence[Decoded], model: Model) -> Iterator[list[int]]:
    """Consecutive records whose rows add up to at most the model's batch limit (a record is never split)."""
    stackable = all(spec.batched for spec in model.inputs)
    sizes = [decoded[position].rows for position in positions]
    for group in groups(sizes, len(sizes) if stackable else 1, model.max_batch_size):
        yield [positions[index] for index in group]


def _run(model: Model, items: list[Decoded], fail: Callable[[Decoded, str], None]) -> list[Scored | None]:
    if len(items) == 1:
        inputs = items[0].inputs
    else:
        inputs = {
            spec.name: np.concatenate([item.inputs[spec.name] for item in items]) for spec in model.inputs
        }
    total = sum(item.rows for item in items)
    try:
        # Any exception: ONNX Runtime's own run errors (Fail, RuntimeException) are not RuntimeErrors.
        results = model.run(inputs)
        unshaped = _unshaped(results, total)
        if unshaped is not None and (len(items) > 1 or items[0].answer != "outputs"):
            raise OnnxLambdaError(
                f"model '{model.name}' output {unshaped}; expected a first dimension of {total}, "
                "one per row of the input"
            )
    except Exception as exc:
        if len(items) == 1:
            fail(items[0], _run_failure(model, exc))
            return [None]
        # Only on failure: score each record alone, so one poison record fails by itself.
        return [_run(model, [item], fail)[0] for item in items]
    if len(items) == 1:
        # Nothing to split: the record's share is every output as it came out of the run.
        item = items[0]
        return [Scored(item, results, predictions(results) if item.answer != "outputs" else [])]
    rows = predictions(results) if any(item.answer != "outputs" for item in items) else []
    split: list[Scored | None] = []
    start = 0
    for item in items:
        end = start + item.rows
        split.append(
            Scored(item, {name: array[start:end] for name, array in results.items()}, rows[start:end])
        )
        start = end
    return split


def _run_failure(model: Model, exc: Exception) -> str:
    """Why a session run failed, in one line that names the model."""
    if isinstance(exc, OnnxLambdaError):
        return exc.message
    return f"model '{model.name}' failed: {first_line(exc)}"


def _unshaped(results: Outputs, rows: int) -> str | None:
    """The first output whose first dimension does not count `rows` rows, described; else None."""
    for name, array in results.items():
        shape = array.shape
        if not shape or shape[0] != rows:
            return f"'{name}' has shape {list(shape)}"
    return None
