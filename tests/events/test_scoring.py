"""Vectorised scoring: one session run per model and chunk, results identical to scoring alone."""

from __future__ import annotations

import numpy as np
import pytest
from event_support import failed_ids, flower, sqs_event

from handler.events import handle


@pytest.fixture
def run_sizes(store, monkeypatch):
    """The batch size of every session run, per model name."""
    sizes: dict[str, list[int]] = {}
    for model in store:
        real = model.run

        def counting(inputs, outputs=None, model=model, real=real):
            sizes.setdefault(model.name, []).append(len(next(iter(inputs.values()))))
            return real(inputs, outputs)

        monkeypatch.setattr(model, "run", counting)
    return sizes


def test_all_records_of_one_model_share_one_session_run(make_scorer, run_sizes, store):
    bodies = [flower(n) for n in range(6)] + [{"instances": [[5.0, 3.0, 1.5, 0.2]] * 4}]
    bodies += [{"model": "diabetes", "instances": [[0.01 * n] * 10 for n in range(3)]}, flower(9)]

    response = handle(sqs_event(bodies), None, make_scorer())

    assert failed_ids(response) == []
    assert run_sizes == {"iris": [11], "diabetes": [3]}
    alone = store.get("iris").run({"input": np.array([[5.0, 3.0, 1.5, 0.2]], dtype=np.float32)})
    batched = response["results"][6]["predictions"][0]["probabilities"]
    assert batched == pytest.approx(alone["probabilities"][0].tolist(), abs=1e-6)


def test_rows_are_chunked_at_the_models_batch_limit_without_splitting_a_record(
    make_scorer, run_sizes, store, monkeypatch
):
    monkeypatch.setattr(store.get("iris"), "max_batch_size", 10)
    bodies = [{"instances": [[5.0, 3.0, 1.5, 0.2]] * 4} for _ in range(5)]

    response = handle(sqs_event(bodies), None, make_scorer())

    assert failed_ids(response) == []
    assert run_sizes == {"iris": [8, 8, 4]}
    assert [len(result["predictions"]) for result in response["results"]] == [4] * 5


def test_a_record_the_runtime_rejects_fails_alone(make_scorer, store, monkeypatch):
    from handler.errors import InvalidInput

    model = store.get("iris")
    real = model.run

    def rejects_negative(inputs, outputs=None):
        if (next(iter(inputs.values())) < 0).any():
            raise InvalidInput("model 'iris' rejected the input: negative")
        return real(inputs, outputs)

    monkeypatch.setattr(model, "run", rejects_negative)
    bodies = [flower(0), flower(1, sepal_length=-1.0), flower(2)]

    response = handle(sqs_event(bodies), None, make_scorer())

    assert failed_ids(response) == ["m1"]
    assert [result["id"] for result in response["results"]] == ["f0", "f2"]
