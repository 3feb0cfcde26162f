"""Makes the app aware of the API Gateway stage in its URL, so links such as /docs resolve."""

from __future__ import annotations

from typing import Any

from mangum.types import Response

from handler.http.fastpath import FastPath, Receive, Scope, Send


def stage_prefix(event: dict[str, Any], path: str) -> tuple[str, bool]:
    """The part of the public URL before the path the app routes on ('' when there is none), and
    whether `path` already starts with it.

    REST APIs (payload 1.0) route on `path`, while `requestContext.path` is the public one with the
    stage or custom-domain base path in front: the prefix is not in `path`, even when `path` happens
    to start with the same text (a stage named `v2` and the route `/v2/health/ready`). HTTP APIs
    with a named stage put `/{stage}` at the start of the path itself; the `$default` stage adds
    nothing.
    """
    context = event.get("requestContext") or {}
    public = context.get("path")
    if isinstance(public, str) and public != path and public.endswith(path):
        return public[: len(public) - len(path)], False
    stage = context.get("stage")
    if isinstance(stage, str) and stage and stage != "$default" and path.startswith(f"/{stage}/"):
        return f"/{stage}", True
    return "", False


def enter_stage(scope: Scope) -> None:
    """Set `root_path` to the stage prefix, with `path` the full public path under it."""
    event = scope.get("aws.event")
    if event is not None and scope["type"] == "http":
        prefix, included = stage_prefix(event, scope["path"])
        if prefix:
            scope["root_path"] = prefix
            if not included:
                scope["path"] = prefix + scope["path"]


class StagePath:
    """Sets the ASGI `root_path` to the stage prefix, with `path` the full public path under it."""

    def __init__(self, app: FastPath) -> None:
        """Wrap `app`, which then builds URLs (such as the docs' openapi.json) under the stage."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        enter_stage(scope)
        await self.app(scope, receive, send)

    def prepare(self) -> None:
        """Build the FastAPI app now rather than on first use (see `FastPath.prepare`)."""
        self.app.prepare()

    def answer(self, scope: Scope, body: bytes) -> Response:
        """Answer one request from Lambda (see `FastPath.answer`)."""
        enter_stage(scope)
        return self.app.answer(scope, body)

    def refuse(self, scope: Scope, status: int, message: str) -> Response:
        """Refuse a request whose body could not be read (see `FastPath.refuse`)."""
        return self.app.refuse(scope, status, message)
