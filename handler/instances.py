"""Plain-JSON rows (`instances`, `inputs`, named features) to tensors, and predictions back."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from handler.codec import json_array
from handler.errors import InvalidInput
from handler.store import Model, TensorSpec


def tensors_from_document(document: Any, model: Model) -> dict[str, np.ndarray]:
    """Decode `{"instances": [...]}` or `{"inputs": ...}` (TF Serving's two formats)."""
    if isinstance(document, dict) and "instances" in document:
        return tensors_from_instances(document["instances"], model)
    if isinstance(document, dict) and "inputs" in document:
        return tensors_from_columns(document["inputs"], model)
    if isinstance(document, list):
        return tensors_from_instances(document, model)
    raise InvalidInput('expected {"instances": [...]} or {"inputs": ...} with one entry per row')


def tensors_from_instances(instances: Any, model: Model) -> dict[str, np.ndarray]:
    """Rows as lists (single-input models) or objects keyed by input or feature names."""
    if not isinstance(instances, list) or not instances:
        raise InvalidInput("'instances' must be a non-empty list of rows")
    if len(instances) > model.max_batch_size:
        raise InvalidInput(
            f"batch of {len(instances)} rows is over model '{model.name}' limit of {model.max_batch_size}"
        )
    objects = [isinstance(row, dict) for row in instances]
    if model.features and len(model.inputs) == 1 and any(objects):
        # Rows by position and objects by feature name may be mixed in one request.
        rows = [
            feature_row(row, model, f"instance {index}") if is_object else row
            for index, (row, is_object) in enumerate(zip(instances, objects, strict=True))
        ]
        return {model.inputs[0].name: to_tensor(rows, model.inputs[0])}
    if all(objects):
        return tensors_from_columns(
            {
                spec.name: [_field(row, spec.name, index) for index, row in enumerate(instances)]
                for spec in model.inputs
            },
            model,
        )
    if len(model.inputs) != 1:
        raise InvalidInput(
            f"model '{model.name}' has inputs {list(model.input_by_name)}: send each instance as an "
            "object keyed by input name"
        )
    return {model.inputs[0].name: to_tensor(instances, model.inputs[0])}


def tensors_from_columns(columns: Any, model: Model) -> dict[str, np.ndarray]:
    """`inputs` as one batch (single-input models) or an object of batches keyed by input name."""
    if not isinstance(columns, dict):
        if len(model.inputs) != 1:
            raise InvalidInput(f"model '{model.name}' has several inputs: send 'inputs' as an object")
        columns = {model.inputs[0].name: columns}
    tensors = {}
    for name, values in columns.items():
        spec = model.input_by_name.get(name)
        if spec is None:
            raise InvalidInput(
                f"model '{model.name}' has no input '{name}'; inputs: {list(model.input_by_name)}"
            )
        tensors[name] = to_tensor(values, spec)
    model.check(tensors)
    return tensors


def rows_from_records(
    records: Sequence[Mapping[str, Any]], model: Model, label: Callable[[int], str] = "record {}".format
) -> np.ndarray:
    """Map named-feature records onto the model's single input, one row each, in feature order.

    label: how an error names the record at an index ("JSON Lines line 7", "the record").
    """
    names = model.features
    try:
        rows = [[record[name] for name in names] for record in records]
    except KeyError:
        for index, record in enumerate(records):
            feature_row(record, model, label(index))  # raises, naming the first record lacking a feature
        raise
    return to_tensor(rows, model.inputs[0])


def feature_row(record: Mapping[str, Any], model: Model, label: str) -> list[Any]:
    """One record's values in the model's feature order; a missing feature is named in the error,
    with the record as `label` names it ("instance 2")."""
    try:
        return [record[name] for name in model.features]
    except KeyError:
        absent = [name for name in model.features if name not in record]
        raise InvalidInput(
            f"{label} is missing features {absent}; model '{model.name}' expects {list(model.features)}"
        ) from None


def _field(row: Mapping[str, Any], name: str, index: int) -> Any:
    try:
        return row[name]
    except KeyError:
        raise InvalidInput(f"instance {index} has no field '{name}'") from None


def to_tensor(values: Any, spec: TensorSpec) -> np.ndarray:
    """Convert parsed JSON rows to the spec's dtype and check the rank and fixed dims."""
    array = json_array(spec.name, values, spec.datatype)
    if not spec.fits(array.shape):
        raise InvalidInput(
            f"input '{spec.name}' expects {spec.describe()}; got rows making shape {list(array.shape)}"
        )
    return array


def predictions(results: Mapping[str, np.ndarray]) -> list[Any]:
    """One prediction per row: the value itself for one output, else an object by output name."""
    if len(results) == 1:
        return next(iter(results.values())).tolist()  # type: ignore[no-any-return]
    names = list(results)
    columns = [array.tolist() for array in results.values()]
    if len(names) == 2:  # a classifier's label and probabilities: a dict display is 5x dict(zip())
        first, second = names
        return [{first: a, second: b} for a, b in zip(*columns, strict=True)]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
