"""Vectorised scoring: every decoded record of one model stacked into as few session runs as the
model's batch limit allows, and the outputs split back per record."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from handler.errors import OnnxLambdaError
from handler.events.deadline import Deadline
from handler.events.records import Decoded
from handler.store import Model

Outputs = dict[str, np.ndarray]
DEADLINE_REASON = "not scored: the invocation was about to time out"


def score(
    decoded: Sequence[Decoded],
    deadline: Deadline,
    fail: Callable[[Decoded, str], None],
) -> list[tuple[Decoded, Outputs]]:
    """Score the records, one `model.run` per chunk; returns (record, its outputs) in input order."""
    by_model: dict[int, list[int]] = {}
    for position, item in enumerate(decoded):
        by_model.setdefault(id(item.model), []).append(position)
    scored: dict[int, Outputs] = {}
    for positions in by_model.values():
        model = decoded[positions[0]].model
        for chunk in _chunks(positions, decoded, model):
            if deadline.expired():
                for position in chunk:
                    fail(decoded[position], DEADLINE_REASON)
                continue
            items = [decoded[position] for position in chunk]
            for position, outputs in zip(chunk, _run(model, items, fail), strict=True):
                if outputs is not None:
                    scored[position] = outputs
    return [(decoded[position], scored[position]) for position in sorted(scored)]


def _chunks(positions: list[int], decoded: Sequence[Decoded], model: Model) -> Iterator[list[int]]:
    """Consecutive records whose rows add up to at most the model's batch limit (a record is never split)."""
    stackable = all(spec.batched for spec in model.inputs)
    chunk: list[int] = []
    rows = 0
    for position in positions:
        size = decoded[position].rows
        if chunk and (not stackable or rows + size > model.max_batch_size):
            yield chunk
            chunk, rows = [], 0
        chunk.append(position)
        rows += size
    if chunk:
        yield chunk


def _run(model: Model, items: list[Decoded], fail: Callable[[Decoded, str], None]) -> list[Outputs | None]:
    if len(items) == 1:
        inputs = items[0].inputs
    else:
        inputs = {
            spec.name: np.concatenate([item.inputs[spec.name] for item in items]) for spec in model.inputs
        }
    try:
        results = model.run(inputs)
    except (OnnxLambdaError, RuntimeError) as exc:
        if len(items) == 1:
            fail(items[0], getattr(exc, "message", None) or f"model '{model.name}' failed: {exc}")
            return [None]
        # Only on failure: score each record alone, so one poison record fails by itself.
        return [_run(model, [item], fail)[0] for item in items]
    split: list[Outputs | None] = []
    start = 0
    for item in items:
        end = start + item.rows
        split.append({name: array[start:end] for name, array in results.items()})
        start = end
    return split
