"""Capture the `onnx_lambda` loggers' output through the deployed JSON formatter, one parsed object a line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from handler.logs import LOGGER, JsonFormatter


class JsonLines:
    """What the loggers wrote: the raw text, and each line parsed (every line must parse on its own)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]

    def with_message(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["message"] == message]


@contextmanager
def json_logs(level: int = logging.DEBUG, function_name: str = "scorer") -> Iterator[JsonLines]:
    """Send the `onnx_lambda` loggers' records, at `level` and above, to a JsonLines."""
    captured = JsonLines()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(JsonFormatter(function_name))
    logger = logging.getLogger(LOGGER)
    previous = logger.level
    logger.setLevel(level)
    logger.addHandler(handler)
    try:
        yield captured
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
