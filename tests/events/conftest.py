"""Event-scoring fixtures: the bundled models, moto-backed destinations, and contexts whose time runs out."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from event_support import REGION, Landing, make_landing
from moto import mock_aws

from handler.events import aws as aws_module
from handler.events.batch import EventScorer
from handler.events.destinations import open_writer
from handler.settings import Destination, Settings
from handler.store import ModelStore


@pytest.fixture(scope="session")
def store() -> ModelStore:
    """The bundled models, loaded once per test worker."""
    return ModelStore.load(Settings.from_env({"ONNX_LAMBDA_WARMUP": "0"}))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process, with fake credentials and no client cached from another test."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setattr(aws_module, "_clients", {})
    with mock_aws():
        yield


@pytest.fixture
def landing(aws: None) -> Callable[..., Landing]:
    """`landing("sqs")`: the destination created in moto and a reader for what lands there."""
    return make_landing


@pytest.fixture
def make_scorer(store: ModelStore) -> Callable[..., EventScorer]:
    """`make_scorer(destination, ONNX_LAMBDA_...=...)`: a scorer over the bundled models."""

    def build(destination: Destination | None = None, **environ: str) -> EventScorer:
        settings = Settings.from_env(environ)
        if destination is not None:
            settings = settings._replace(destination=destination)
        return EventScorer(store, settings, open_writer(settings.destination, settings))

    return build
