"""The one place where event scoring tells a person that a record failed."""

from __future__ import annotations

import json
import logging

logger = logging.getLogger("onnx_lambda.events")


def report_failure(record_id: str, reason: str) -> None:
    """Log one failed record, once, as a single JSON line with its id and the reason."""
    logger.warning(json.dumps({"message": "record failed", "record_id": record_id, "reason": reason}))


def report_skip(record_id: str, reason: str) -> None:
    """Log a record deliberately left unscored (a REMOVE, or the function's own write)."""
    logger.info(json.dumps({"message": "record skipped", "record_id": record_id, "reason": reason}))
