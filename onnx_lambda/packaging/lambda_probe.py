"""Runs inside the verification's fresh interpreter (`python -I -S`): only the stdlib is importable.

argv[1] is a JSON file naming the Lambda-like `sys.path`, the fixtures to run and where to write
the results. Results go to a file because the function may log to stdout.
"""

import json
import sys
import sysconfig
import time
import uuid


class Context:
    """The attributes Lambda's Python runtime gives `context`."""

    function_name = "onnx-lambda-verify"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:onnx-lambda-verify"
    log_group_name = "/aws/lambda/onnx-lambda-verify"
    log_stream_name = "verify"

    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 30.0

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main():
    with open(sys.argv[1]) as handle:
        config = json.load(handle)
    sys.path[:0] = config["paths"]
    import handler

    results = []
    for fixture in config["fixtures"]:
        try:
            response = handler.lambda_handler(fixture["event"], Context())
        except Exception as exc:
            results.append({"name": fixture["name"], "error": f"{type(exc).__name__}: {exc}"})
        else:
            results.append({"name": fixture["name"], "response": response})
    allowed = (config["root"], sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
    outside = sorted(
        name
        for name, module in list(sys.modules.items())
        if name != "__main__"
        and getattr(module, "__file__", None)
        and not module.__file__.startswith(allowed)
    )
    loaded = sorted({name.partition(".")[0] for name in sys.modules})
    files = sorted(
        {module.__file__ for module in list(sys.modules.values()) if getattr(module, "__file__", None)}
    )
    with open(config["results"], "w") as handle:
        json.dump(
            {"results": results, "outside": outside, "loaded": loaded, "files": files}, handle, default=str
        )


if __name__ == "__main__":
    main()
