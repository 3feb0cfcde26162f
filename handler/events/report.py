"""The one place where event scoring tells a person that a record failed or was skipped."""

from __future__ import annotations

import logging

logger = logging.getLogger("onnx_lambda.events")


def report_failure(record_id: str, reason: str) -> None:
    """Log one failed record, once, with its id and the reason as fields of the log line."""
    logger.warning(
        "record %s failed: %s", record_id, reason, extra={"record_id": record_id, "reason": reason}
    )


def report_skip(record_id: str, reason: str) -> None:
    """Log a record deliberately left unscored (a REMOVE, or the function's own write)."""
    logger.info("record %s skipped: %s", record_id, reason, extra={"record_id": record_id, "reason": reason})
