"""The API Gateway front door: HTTP requests in as HTTP API (2.0) or REST API (1.0) proxy events.

Every request on the port, whatever its method and path, goes to the function through a
`$default` route (HTTP API) or a `/{proxy+}` resource (REST API), and the function's answer becomes
the HTTP response, as API Gateway's Lambda proxy integration does.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote

from onnx_lambda.emulator.http11 import HttpRequest, HttpResponse, json_response
from onnx_lambda.emulator.pool import Function, Throttled

TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
              "application/x-www-form-urlencoded", "application/graphql")  # fmt: skip
_INTERNAL_ERROR_V2 = json_response(500, b'{"message":"Internal Server Error"}')
_INTERNAL_ERROR_V1 = json_response(502, b'{"message": "Internal server error"}')
_THROTTLED = json_response(429, b'{"message":"Too Many Requests"}')
_NOT_FOUND = json_response(404, b'{"message":"Not Found"}')


def is_text(content_type: str | None) -> bool:
    """Whether API Gateway passes a body of this type as text rather than base64."""
    if not content_type:
        return True
    media = content_type.split(";")[0].strip().lower()
    return media.startswith(TEXT_TYPES) or media.endswith(("+json", "+xml"))


class ApiGateway:
    """Turns each request into a proxy event for `function` and its answer into the response."""

    def __init__(
        self,
        function: Function,
        payload_version: str = "2.0",
        stage: str = "$default",
        api_id: str = "emulated",
    ) -> None:
        """Configure the front door.

        function: the function every route integrates with.
        payload_version: "2.0" (HTTP API) or "1.0" (REST API, whose requestContext.path has the stage).
        stage: the stage name; an HTTP API's named stage is the first segment of every URL path.
        api_id: the API id in requestContext.
        """
        if payload_version not in ("1.0", "2.0"):
            raise ValueError(f"payload_version must be '1.0' or '2.0', not {payload_version!r}")
        self.function = function
        self.payload_version = payload_version
        self.stage = "prod" if payload_version == "1.0" and stage == "$default" else stage
        self.api_id = api_id

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if (
            self.payload_version == "2.0"
            and self.stage != "$default"
            and not (request.path == f"/{self.stage}" or request.path.startswith(f"/{self.stage}/"))
        ):
            return _NOT_FOUND
        event = (
            self.http_api_event(request) if self.payload_version == "2.0" else self.rest_api_event(request)
        )
        try:
            invocation = await self.function.invoke(json.dumps(event).encode())
        except Throttled:
            return _THROTTLED
        if invocation.error_type:
            return _INTERNAL_ERROR_V2 if self.payload_version == "2.0" else _INTERNAL_ERROR_V1
        try:
            return self.response(invocation.json())
        except (ValueError, TypeError):
            return _INTERNAL_ERROR_V2 if self.payload_version == "2.0" else _INTERNAL_ERROR_V1

    def _body(self, request: HttpRequest) -> tuple[str | None, bool]:
        if not request.body:
            return None, False
        if is_text(request.header("content-type")):
            try:
                return request.body.decode(), False
            except UnicodeDecodeError:
                pass
        return base64.b64encode(request.body).decode(), True

    def _context(self, request: HttpRequest) -> dict[str, Any]:
        now = time.time()
        host = request.header("host") or "localhost"
        return {
            "accountId": self.function.config.account_id,
            "apiId": self.api_id,
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "requestId": base64.urlsafe_b64encode(uuid.uuid4().bytes)[:16].decode(),
            "stage": self.stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        }

    def http_api_event(self, request: HttpRequest) -> dict[str, Any]:
        """An HTTP API payload 2.0 event, as the `$default` route sends it."""
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for key, value in request.headers:
            name = key.lower()
            if name == "cookie":
                cookies.extend(part.strip() for part in value.split(";") if part.strip())
                continue
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        body, is_base64 = self._body(request)
        context = self._context(request)
        path = unquote(request.path)
        context.update(
            {
                "http": {
                    "method": request.method,
                    "path": path,
                    "protocol": request.version,
                    "sourceIp": request.client[0],
                    "userAgent": headers.get("user-agent", ""),
                },
                "routeKey": "$default",
            }
        )
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": request.path,
            "rawQueryString": request.query,
        }
        if cookies:
            event["cookies"] = cookies
        event["headers"] = headers
        query: dict[str, str] = {}
        for key, value in parse_qsl(request.query, keep_blank_values=True):
            query[key] = f"{query[key]},{value}" if key in query else value
        if query:
            event["queryStringParameters"] = query
        event["requestContext"] = context
        if body is not None:
            event["body"] = body
        event["isBase64Encoded"] = is_base64
        return event

    def rest_api_event(self, request: HttpRequest) -> dict[str, Any]:
        """A REST API payload 1.0 event for a `/{proxy+}` resource with Lambda proxy integration."""
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for key, value in request.headers:
            headers[key] = value
            multi_headers.setdefault(key, []).append(value)
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for key, value in parse_qsl(request.query, keep_blank_values=True):
            query[key] = value
            multi_query.setdefault(key, []).append(value)
        body, is_base64 = self._body(request)
        path = unquote(request.path)
        context = self._context(request)
        context.update(
            {
                "resourceId": "proxy0",
                "resourcePath": "/{proxy+}",
                "httpMethod": request.method,
                "extendedRequestId": context["requestId"],
                "requestTime": context.pop("time"),
                "requestTimeEpoch": context.pop("timeEpoch"),
                "path": f"/{self.stage}{path}",
                "protocol": request.version,
                "identity": {"sourceIp": request.client[0], "userAgent": headers.get("User-Agent")},
                "requestId": str(uuid.uuid4()),
            }
        )
        return {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": {"proxy": path.lstrip("/")} if path.strip("/") else None,
            "stageVariables": None,
            "requestContext": context,
            "body": body,
            "isBase64Encoded": is_base64,
        }

    def response(self, result: Any) -> HttpResponse:
        """The HTTP response for what the function returned (API Gateway's proxy response rules)."""
        if not isinstance(result, dict) or "statusCode" not in result:
            if self.payload_version == "1.0":
                raise ValueError("a REST API proxy integration needs a statusCode")
            # HTTP API 2.0: anything else is a 200 JSON body.
            body = result if isinstance(result, str) else json.dumps(result)
            return json_response(200, body.encode())
        headers: list[tuple[str, str]] = []
        for key, value in (result.get("headers") or {}).items():
            headers.append((key, str(value)))
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers.extend((key, str(value)) for value in values if (key, str(value)) not in headers)
        headers.extend(("Set-Cookie", cookie) for cookie in result.get("cookies") or [])
        if not any(key.lower() == "content-type" for key, _ in headers) and self.payload_version == "2.0":
            headers.append(("Content-Type", "application/json"))
        raw = result.get("body") or ""
        content = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        return HttpResponse(int(result["statusCode"]), headers, content)
