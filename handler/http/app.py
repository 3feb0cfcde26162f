"""The ASGI application the function serves: stage-aware, with the hot routes answered up front."""

from __future__ import annotations

from typing import Any

from handler.http.fastpath import FastPath
from handler.http.service import InferenceService
from handler.http.stage import StagePath
from handler.settings import Settings
from handler.store import ModelStore


def create_app(store: ModelStore, settings: Settings) -> StagePath:
    """Build the ASGI application over a loaded model store; FastAPI is built on first need."""
    service = InferenceService(store, settings)

    def framework() -> Any:
        from handler.http.framework import fastapi_app  # FastAPI: ~250 ms, only when a route needs it

        return fastapi_app(service)

    return StagePath(FastPath(service, framework))
