"""Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`), for boto3 and the AWS CLI.

`RequestResponse` answers with the function's payload (and `X-Amz-Function-Error` when it failed),
`Event` queues the invocation and answers 202, `DryRun` answers 204. `X-Amz-Log-Type: Tail` puts
the last 4 KB of the invocation's log, base64, in `X-Amz-Log-Result`. Errors of the API itself
carry `x-amzn-ErrorType`, as botocore expects.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from urllib.parse import parse_qs, unquote

from onnx_lambda.emulator.async_invoke import EventQueue
from onnx_lambda.emulator.http11 import HttpRequest, HttpResponse, json_response
from onnx_lambda.emulator.logs import tail
from onnx_lambda.emulator.pool import Function, Throttled

PREFIX = "/2015-03-31/functions/"
SUFFIX = "/invocations"
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 1024 * 1024
FAILED_EVENTS_PATH = "/_emulator/failed-events"


class InvokeApi:
    """Routes Invoke API calls to the emulated functions by name or ARN."""

    def __init__(self, functions: Mapping[str, Function], queues: Mapping[str, EventQueue]) -> None:
        self.functions = functions
        self.queues = queues

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and request.path == FAILED_EVENTS_PATH:
            failures = [record for queue in self.queues.values() for record in queue.failures]
            return json_response(200, json.dumps(failures).encode())
        if not (request.path.startswith(PREFIX) and request.path.endswith(SUFFIX)):
            return _api_error(404, "UnknownOperationException", f"no route {request.method} {request.path}")
        if request.method != "POST":
            return _api_error(405, "MethodNotAllowedException", f"{request.method} is not allowed here")
        name, qualifier = _function_name(unquote(request.path[len(PREFIX) : -len(SUFFIX)]))
        qualifier = parse_qs(request.query).get("Qualifier", [qualifier])[0]
        function = self.functions.get(name)
        if function is None or qualifier not in (None, "", "$LATEST"):
            arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}" + (
                f":{qualifier}" if qualifier else ""
            )
            return _api_error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        return await self.invoke(function, request)

    async def invoke(self, function: Function, request: HttpRequest) -> HttpResponse:
        invocation_type = request.header("x-amz-invocation-type") or "RequestResponse"
        payload = request.body or b"{}"
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            return _api_error(
                400,
                "InvalidParameterValueException",
                f"Invocation type {invocation_type!r} is not one of RequestResponse, Event, DryRun",
            )
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if len(payload) > limit:
            return _api_error(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the {invocation_type} invocation type",
            )
        try:
            json.loads(payload)
        except ValueError:
            return _api_error(400, "InvalidRequestContentException", "Could not parse request body into json")
        if invocation_type == "DryRun":
            return HttpResponse(204, [("x-amzn-RequestId", str(uuid.uuid4()))])
        if invocation_type == "Event":
            request_id = str(uuid.uuid4())
            self.queues[function.config.name].submit(payload, request_id)
            return HttpResponse(202, [("x-amzn-RequestId", request_id)])
        try:
            invocation = await function.invoke(payload, client_context=_client_context(request))
        except Throttled:
            reason = {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}
            return _api_error(429, "TooManyRequestsException", "Rate Exceeded.", reason)
        headers = [
            ("x-amzn-RequestId", invocation.request_id),
            ("X-Amz-Executed-Version", "$LATEST"),
        ]
        if invocation.function_error:
            headers.append(("X-Amz-Function-Error", invocation.function_error))
        if (request.header("x-amz-log-type") or "None") == "Tail":
            headers.append(("X-Amz-Log-Result", base64.b64encode(tail(invocation.logs)).decode()))
        return json_response(200, invocation.payload, headers)


def _client_context(request: HttpRequest) -> str | None:
    """`X-Amz-Client-Context` arrives base64-encoded; the runtime gets the JSON itself."""
    encoded = request.header("x-amz-client-context")
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded).decode()
    except ValueError:
        return None


def _function_name(name: str) -> tuple[str, str | None]:
    """Name and qualifier from a name, `name:qualifier`, a full ARN or a partial ARN."""
    if ":function:" in name:
        name = name.split(":function:", 1)[1]
    name, _, qualifier = name.partition(":")
    return name, qualifier or None


def _api_error(
    status: int, error_type: str, message: str, extra: dict[str, str] | None = None
) -> HttpResponse:
    body = {"Type": "User", "message": message, **(extra or {})}
    headers = [("x-amzn-ErrorType", error_type), ("x-amzn-RequestId", str(uuid.uuid4()))]
    return json_response(status, json.dumps(body).encode(), headers)
