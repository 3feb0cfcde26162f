"""A function whose init phase fails, as a model whose digest does not match would."""

raise RuntimeError("model 'iris' failed its SHA-256 check")


def handler(event, context):  # pragma: no cover - never reached
    return event
