"""How long this invocation may keep working before it must stop and report what is left."""

from __future__ import annotations

from handler.events.types import LambdaContext


class Deadline:
    """Expires `margin_ms` before Lambda would stop the invocation; never, without a context."""

    def __init__(self, context: LambdaContext | None, margin_ms: int) -> None:
        """Watch `context`'s remaining time.

        context: Lambda's context object, or None outside Lambda (no deadline).
        margin_ms: the time kept back to report failures and return (ONNX_LAMBDA_DEADLINE_MARGIN_MS).
        """
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        self.remaining = remaining if callable(remaining) else None
        self.margin_ms = margin_ms

    def expired(self) -> bool:
        return self.remaining is not None and int(self.remaining()) <= self.margin_ms


class DeadlineReached(Exception):
    """Raised inside long work (an S3 object) when the deadline expires between chunks."""

    def __init__(self, margin_ms: int) -> None:
        super().__init__(f"stopped with less than {margin_ms} ms left before the function's timeout")
