"""A test function for the emulator: echoes HTTP events, misbehaves on request, scores SQS batches.

Standard library only, so its cold start is quick. Invoke it with `{"action": ...}`:
`echo`, `fail`, `sleep` (seconds), `allocate` (mb), `exit` (code), `log` (lines), `record` (path).
"""

import json
import os
import sys
import time

# Kept for the life of the execution environment: shows warm reuse.
INVOCATIONS = {"count": 0}


def handler(event, context):
    INVOCATIONS["count"] += 1
    if isinstance(event, dict) and "requestContext" in event:
        body = {"event": event, "count": INVOCATIONS["count"], "pid": os.getpid()}
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json", "x-probe": "yes"},
            "cookies": ["flavour=oat; Path=/"],
            "body": json.dumps(body),
        }
    if isinstance(event, dict) and "Records" in event:
        return score_batch(event)
    action = event.get("action", "echo") if isinstance(event, dict) else "echo"
    if "record" in event:
        with open(event["record"], "a") as file:
            file.write(json.dumps({"action": action, "request_id": context.aws_request_id}) + "\n")
    if action == "fail":
        raise ValueError(event.get("message", "the probe was asked to fail"))
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "allocate":
        block = bytearray(event["mb"] * 1024 * 1024)
        for offset in range(0, len(block), 4096):
            block[offset] = 1
        time.sleep(event.get("hold", 0.5))
    if action == "exit":
        sys.stdout.flush()
        os._exit(event.get("code", 3))
    if action == "log":
        for index in range(event["lines"]):
            print(f"probe log line {index}")
    return {
        "count": INVOCATIONS["count"],
        "pid": os.getpid(),
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "client_context": getattr(context.client_context, "custom", None),
        "environment": {key: os.environ.get(key) for key in ENVIRONMENT},
        "event": event,
    }


ENVIRONMENT = (
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "_HANDLER",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
    "AWS_ACCESS_KEY_ID",
    "PROBE_RECORD",
)


def score_batch(event):
    """Fail records whose body says "poison"; log every batch to $PROBE_RECORD."""
    records = event["Records"]
    path = os.environ.get("PROBE_RECORD")
    if path:
        with open(path, "a") as file:
            file.write(json.dumps(records) + "\n")
    failures = [{"itemIdentifier": r["messageId"]} for r in records if "poison" in r["body"]]
    return {"batchItemFailures": failures}
