"""Capture the `onnx_lambda` loggers' output through the deployed JSON formatter, one parsed object a line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from handler.logs import LOGGER, JsonFormatter

HOSTILE = [
    pytest.param('id"}, "level": "CRITICAL", "x": {"\\', id="quotes-closing-the-object"),
    pytest.param('first\nsecond\r\n{"message": "forged", "_aws": 1}', id="newlines-and-a-forged-line"),
    pytest.param("\u2028\u2029\x00\x1b[2J\x7f", id="control-and-separator-characters"),
    pytest.param("%s %d %(name)s %%", id="format-directives"),
    pytest.param("y" * 200_000, id="huge"),
]
"""What a caller may put in an id, a header or a model name, none of which may break a line."""


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
