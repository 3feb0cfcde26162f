"""Write the HTTP event fixtures in `events/`: real AWS shapes carrying real inference requests.

Run `python events/build_http_fixtures.py` to rewrite them; the output is byte-identical across
runs (fixed request ids and times), so `git diff` shows any change. Bodies that AWS would send
base64-encoded (binary media types, the binary tensor extension) are encoded here rather than by
hand. Shapes follow the AWS documentation's examples for each integration:
API Gateway REST (payload 1.0), HTTP API (payload 2.0 and 1.0), ALB (single and multi-value
headers) and Lambda Function URLs.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parent
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
SOURCE_IP = "203.0.113.24"
USER_AGENT = "python-httpx/0.27.0"
TIME = "04/Dec/2026:19:30:12 +0000"
TIME_EPOCH = 1796412612345
TRACE_ID = "Root=1-6930e2c4-2f1a9c4b7d3e5f60718293a4"

# One iris flower of each species (setosa, versicolor, virginica), from scikit-learn's dataset.
IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.1, 4.7, 1.5], [6.3, 3.3, 6.0, 2.5]]
# Rows 0 (malignant) and 19 (benign) of scikit-learn's breast cancer dataset.
BREAST_CANCER_ROWS = [
    [17.99, 10.38, 122.8, 1001.0, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871, 1.095, 0.9053, 8.589,
     153.4, 0.006399, 0.04904, 0.05373, 0.01587, 0.03003, 0.006193, 25.38, 17.33, 184.6, 2019.0, 0.1622,
     0.6656, 0.7119, 0.2654, 0.4601, 0.1189],
    [13.54, 14.36, 87.46, 566.3, 0.09779, 0.08129, 0.06664, 0.04781, 0.1885, 0.05766, 0.2699, 0.7886,
     2.058, 23.56, 0.008462, 0.0146, 0.02387, 0.01315, 0.0198, 0.0023, 15.11, 19.26, 99.7, 711.2, 0.144,
     0.1773, 0.239, 0.1288, 0.2977, 0.07259],
]  # fmt: skip
# Rows 0 and 1 of scikit-learn's (scaled) diabetes dataset.
DIABETES_ROWS = [
    [0.038076, 0.05068, 0.061696, 0.021872, -0.044223, -0.034821, -0.043401, -0.002592, 0.019907, -0.017646],
    [-0.001882, -0.044642, -0.051474, -0.026328, -0.008449, -0.019163, 0.074412, -0.039493, -0.068332,
     -0.092204],
]  # fmt: skip


def features(model: str) -> list[str]:
    """The model's ordered feature names, from its config in `models/`."""
    config = json.loads((EVENTS_DIR.parent / "models" / f"{model}.json").read_text())
    return list(config["features"])


def compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


def infer_body(name: str, rows: list[list[float]], request_id: str | None = None) -> str:
    document: dict[str, Any] = {}
    if request_id:
        document["id"] = request_id
    document["inputs"] = [
        {"name": name, "shape": [len(rows), len(rows[0])], "datatype": "FP32", "data": rows}
    ]
    return compact(document)


def binary_infer_body(name: str, rows: list[list[float]], outputs: list[str]) -> tuple[bytes, int]:
    """A binary tensor extension request: JSON header, then the rows as little-endian FP32."""
    flat = [value for row in rows for value in row]
    data = struct.pack(f"<{len(flat)}f", *flat)
    header = compact(
        {
            "inputs": [
                {
                    "name": name,
                    "shape": [len(rows), len(rows[0])],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": len(data)},
                }
            ],
            "outputs": [{"name": output, "parameters": {"binary_data": True}} for output in outputs],
        }
    ).encode()
    return header + data, len(header)


def rest_v1(
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    *,
    stage: str = "prod",
    is_base64: bool = False,
) -> dict[str, Any]:
    """API Gateway REST API proxy integration (payload 1.0) through an edge-optimized endpoint.

    `path` is what the app routes on; `requestContext.path` is the public path with the stage.
    `is_base64` is how the body arrives when the API lists `*/*` as a binary media type.
    """
    api_id = "a1b2c3d4e5"
    all_headers = {
        "Accept": "application/json",
        "CloudFront-Forwarded-Proto": "https",
        "CloudFront-Is-Desktop-Viewer": "true",
        "CloudFront-Is-Mobile-Viewer": "false",
        "CloudFront-Viewer-Country": "GB",
        "Host": f"{api_id}.execute-api.{REGION}.amazonaws.com",
        "User-Agent": USER_AGENT,
        "Via": "2.0 4f1b2c3d4e5f60718293a4b5c6d7e8f9.cloudfront.net (CloudFront)",
        "X-Amz-Cf-Id": "Xq7vB2kYQ0m3dH1nLr5sT8uWz9aC4eF6gJ2kM0pR3tV5xY7zA1bC3d==",
        "X-Amzn-Trace-Id": TRACE_ID,
        "X-Forwarded-For": f"{SOURCE_IP}, 130.176.36.77",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **headers,
    }
    if body is not None:
        all_headers["Content-Length"] = str(len(body))
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "x1y2z3",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "extendedRequestId": "Rk5XJGb8oAMEbQw=",
            "requestTime": TIME,
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": api_id,
            "requestTimeEpoch": TIME_EPOCH,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": SOURCE_IP,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": USER_AGENT,
                "user": None,
            },
            "domainName": f"{api_id}.execute-api.{REGION}.amazonaws.com",
            "apiId": api_id,
        },
        "body": None if body is None else base64.b64encode(body).decode() if is_base64 else body.decode(),
        "isBase64Encoded": is_base64,
    }


def http_api_v2(
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    *,
    stage: str = "$default",
    is_base64: bool = False,
    function_url: bool = False,
) -> dict[str, Any]:
    """HTTP API payload 2.0 on an `ANY /{proxy+}` route, or a Lambda Function URL.

    On a named stage the stage is the first segment of `rawPath`; `$default` adds nothing.
    """
    if function_url:
        api_id = "4xq2sv7ghzjyk5w3nbmrdt6cfe0lpiua"
        domain = f"{api_id}.lambda-url.{REGION}.on.aws"
    else:
        api_id = "r3pmxmplak"
        domain = f"{api_id}.execute-api.{REGION}.amazonaws.com"
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    all_headers = {
        "accept": "application/json",
        "accept-encoding": "gzip, deflate",
        "host": domain,
        "user-agent": USER_AGENT,
        "x-amzn-trace-id": TRACE_ID,
        "x-forwarded-for": SOURCE_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        **headers,
    }
    if body is not None:
        all_headers["content-length"] = str(len(body))
    route_key = "$default" if function_url else "ANY /{proxy+}"
    context: dict[str, Any] = {
        "accountId": "anonymous" if function_url else ACCOUNT_ID,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": api_id,
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": SOURCE_IP,
            "userAgent": USER_AGENT,
        },
        "requestId": "JKJaXmPLvHcESHA=" if not function_url else "7c2f7ad1-1e5b-4d77-9d2e-0b8c5e7a4f31",
        "routeKey": route_key,
        "stage": stage,
        "time": TIME,
        "timeEpoch": TIME_EPOCH,
    }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": context,
        "isBase64Encoded": is_base64,
    }
    if not function_url:
        event["pathParameters"] = {"proxy": path.lstrip("/")}
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if is_base64 else body.decode()
    return event


def http_api_v1(method: str, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """HTTP API with payload format 1.0 on the `$default` stage and an `ANY /{proxy+}` route."""
    api_id = "k7w2mxplqe"
    domain = f"{api_id}.execute-api.{REGION}.amazonaws.com"
    all_headers = {
        "Content-Length": str(len(body)),
        "Host": domain,
        "User-Agent": USER_AGENT,
        "X-Amzn-Trace-Id": TRACE_ID,
        "X-Forwarded-For": SOURCE_IP,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        "accept": "application/json",
        **headers,
    }
    return {
        "version": "1.0",
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": api_id,
            "extendedRequestId": "Kx9pYhTLoAMEVxg=",
            "httpMethod": method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": SOURCE_IP,
                "user": None,
                "userAgent": USER_AGENT,
                "userArn": None,
            },
            "path": path,
            "protocol": "HTTP/1.1",
            "requestId": "Kx9pYhTLoAMEVxg=",
            "requestTime": TIME,
            "requestTimeEpoch": TIME_EPOCH,
            "resourceId": "ANY /{proxy+}",
            "resourcePath": "/{proxy+}",
            "stage": "$default",
        },
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "body": body.decode(),
        "isBase64Encoded": False,
    }


def alb(
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    *,
    query: dict[str, list[str]] | None = None,
    multi_value: bool = False,
) -> dict[str, Any]:
    """An Application Load Balancer target group request, with or without multi-value headers."""
    all_headers = {
        "accept": "application/json",
        "connection": "keep-alive",
        "content-length": str(len(body)),
        "host": "onnx-lambda-alb-1234567890.us-east-1.elb.amazonaws.com",
        "user-agent": USER_AGENT,
        "x-amzn-trace-id": TRACE_ID,
        "x-forwarded-for": SOURCE_IP,
        "x-forwarded-port": "80",
        "x-forwarded-proto": "http",
        **headers,
    }
    query = query or {}
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {
                "targetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:"
                "targetgroup/onnx-lambda/49e9d65c45c6791a"
            }
        },
        "httpMethod": method,
        "path": path,
    }
    if multi_value:
        event["multiValueQueryStringParameters"] = query
        event["multiValueHeaders"] = {key: [value] for key, value in all_headers.items()}
        # A header the client sent twice; ALB keeps both values only in this mode.
        event["multiValueHeaders"]["accept"] = ["application/json", "text/plain"]
    else:
        event["queryStringParameters"] = {key: values[-1] for key, values in query.items()}
        event["headers"] = all_headers
    event["body"] = body.decode()
    event["isBase64Encoded"] = False
    return event


JSON_HEADERS = {"content-type": "application/json"}


def build() -> dict[str, dict[str, Any]]:
    """Every HTTP fixture, by file name."""
    iris_infer = infer_body("input", IRIS_ROWS[:2]).encode()
    binary, header_length = binary_infer_body("input", IRIS_ROWS, ["label", "probabilities"])
    bc_features = features("breast_cancer")
    bc_records = [dict(zip(bc_features, row, strict=True)) for row in BREAST_CANCER_ROWS]
    diabetes_features = features("diabetes")
    csv_body = "".join(",".join(str(value) for value in row) + "\n" for row in IRIS_ROWS).encode()
    return {
        "rest-v1-infer.json": rest_v1(
            "POST", "/v2/models/iris/infer", iris_infer, {"Content-Type": "application/json"}
        ),
        "rest-v1-predict-base64.json": rest_v1(
            "POST",
            "/v1/models/breast_cancer:predict",
            compact({"instances": bc_records}).encode(),
            {"Content-Type": "application/json"},
            is_base64=True,
        ),
        "http-api-v2-infer.json": http_api_v2(
            "POST",
            "/v2/models/iris/infer",
            infer_body("input", IRIS_ROWS, request_id="req-iris-42").encode(),
            JSON_HEADERS,
        ),
        "http-api-v2-predict-stage.json": http_api_v2(
            "POST",
            "/v1/models/diabetes:predict",
            compact({"instances": DIABETES_ROWS}).encode(),
            JSON_HEADERS,
            stage="prod",
        ),
        "http-api-v2-infer-diabetes-version.json": http_api_v2(
            "POST",
            "/v2/models/diabetes/versions/1/infer",
            infer_body("input", DIABETES_ROWS).encode(),
            JSON_HEADERS,
        ),
        "http-api-v1-infer.json": http_api_v1("POST", "/v2/models/iris/infer", iris_infer, JSON_HEADERS),
        "alb-infer.json": alb(
            "POST",
            "/v2/models/breast_cancer/infer",
            infer_body("input", BREAST_CANCER_ROWS).encode(),
            JSON_HEADERS,
        ),
        "alb-multivalue-predict.json": alb(
            "POST",
            "/v1/models/diabetes:predict",
            compact({"instances": [dict(zip(diabetes_features, DIABETES_ROWS[0], strict=True))]}).encode(),
            JSON_HEADERS,
            query={"explain": ["false"], "tag": ["ab-test", "canary"]},
            multi_value=True,
        ),
        "function-url-infer.json": http_api_v2(
            "POST",
            "/v2/models/breast_cancer/infer",
            infer_body("input", BREAST_CANCER_ROWS[1:]).encode(),
            JSON_HEADERS,
            function_url=True,
        ),
        "http-api-v2-infer-binary.json": http_api_v2(
            "POST",
            "/v2/models/iris/infer",
            binary,
            {
                "content-type": "application/octet-stream",
                "inference-header-content-length": str(header_length),
            },
            is_base64=True,
        ),
        "http-api-v2-sagemaker-invocations-csv.json": http_api_v2(
            "POST", "/invocations", csv_body, {"content-type": "text/csv"}
        ),
        "http-api-v2-docs.json": http_api_v2("GET", "/docs", None, {"accept": "text/html"}),
    }


def main() -> None:
    for name, event in build().items():
        (EVENTS_DIR / name).write_text(json.dumps(event, indent=2) + "\n")
        print(f"wrote events/{name}")


if __name__ == "__main__":
    main()
