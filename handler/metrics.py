"""CloudWatch Embedded Metric Format: one JSON line on stdout per invocation, which CloudWatch Logs
turns into metrics without an API call.

Each line holds one `_aws` block with one metric directive (namespace, one dimension set:
FunctionName, EventSource, Model) and the values at the root. Most of the line (the directive
declaring the metrics, the function name) is constant for each shape of invocation (cold or warm,
model run or not, destination written or not), so it is built once, when that shape first occurs,
and put last: an invocation formats only a short head (dimension values, numbers, ids) in front.

On Lambda, whose runtime flushes stdout on every write, head and constant tail go out together
in one `os.writev` on stdout's file descriptor, without joining them into a new string or going
through the text layers; anywhere else (tests, local runs) the line goes through `sys.stdout`.
Imported only when ONNX_LAMBDA_METRICS is on.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

from handler.invocation import MIXED, InitTimings, Invocation

DIMENSIONS = ("FunctionName", "EventSource", "Model")
COUNT = "Count"
MILLISECONDS = "Milliseconds"
MICROSECONDS = "Microseconds"
NO_MODEL = "none"

_escape: Callable[[str], str] = json.encoder.encode_basestring_ascii

ALWAYS = (("ColdStart", COUNT), ("RecordsScored", COUNT), ("RecordsFailed", COUNT))
ON_COLD_START = (
    ("InitDuration", MILLISECONDS),
    ("InitDurationImports", MILLISECONDS),
    ("InitDurationModelLoad", MILLISECONDS),
    ("InitDurationWarmUp", MILLISECONDS),
)
# Warm latencies of small models are tens of microseconds: whole microseconds keep them exact, and
# formatting integers costs half what formatting floats does.
WHEN_RUN = (
    ("BatchSize", COUNT),
    ("InferenceLatency", MICROSECONDS),
    ("InferenceLatencyDecode", MICROSECONDS),
    ("InferenceLatencyRun", MICROSECONDS),
    ("InferenceLatencyEncode", MICROSECONDS),
)
WHEN_WRITTEN = (("DestinationWriteLatency", MICROSECONDS),)


class EmbeddedMetrics:
    """Writes each invocation's metrics record in CloudWatch Embedded Metric Format."""

    def __init__(self, namespace: str, function_name: str, init: InitTimings) -> None:
        """Prepare the parts of the record that never change in this execution environment.

        namespace: the CloudWatch namespace (ONNX_LAMBDA_METRICS_NAMESPACE).
        function_name: the FunctionName dimension.
        init: the init phase's timings, reported with the first invocation.
        """
        self.namespace = namespace
        self.function_name = function_name
        self.init = init
        # By shape (cold * 4 + ran * 2 + wrote): the constant tail, as text and as bytes.
        self.tails: list[tuple[str, bytes] | None] = [None] * 8
        # The escaped source and model members, by source and model (MIXED for several).
        self.subjects: dict[tuple[str, object], str] = {}
        # Lambda's runtime wraps stdout in a writer that flushes every write (awslambdaric's
        # Unbuffered); only then is writing straight to the descriptor in order with everything else.
        stdout = sys.stdout
        lambda_stdout = type(stdout).__module__.startswith("awslambdaric")
        self.lambda_stdout = stdout if lambda_stdout else None
        self.fd = stdout.fileno() if lambda_stdout else -1

    def metrics(self, cold: bool, ran: bool, wrote: bool) -> tuple[tuple[str, str], ...]:
        """The (name, unit) of each metric a record of this shape carries."""
        return (
            ALWAYS
            + (ON_COLD_START if cold else ())
            + (WHEN_RUN if ran else ())
            + (WHEN_WRITTEN if wrote else ())
        )

    def tail(self, cold: bool, ran: bool, wrote: bool) -> tuple[str, bytes]:
        """The constant end of a record of this shape: the metric directive, FunctionName, ColdStart."""
        metrics = self.metrics(cold, ran, wrote)
        directive = json.dumps(
            {
                "Namespace": self.namespace,
                "Dimensions": [list(DIMENSIONS)],
                "Metrics": [{"Name": name, "Unit": unit} for name, unit in metrics],
            },
            separators=(",", ":"),
        )
        function = _escape(self.function_name[:255])
        text = f',"CloudWatchMetrics":[{directive}]}},"FunctionName":{function},"ColdStart":{int(cold)}}}\n'
        self.tails[cold * 4 + ran * 2 + wrote] = text, text.encode()
        return text, text.encode()

    def subject(self, source: str, invocation: Invocation) -> str:
        """The EventSource and Model members (and model_version), escaped once per source and model."""
        model = invocation.model
        if model is None:
            name, version = NO_MODEL, None
        elif invocation.models == 1:
            name, version = model.name, model.version
        else:
            name, version = MIXED, None
        text = f'{{"EventSource":{_escape(source[:255])},"Model":{_escape(name[:255])}'
        if version is not None:
            text += f',"model_version":{_escape(version[:128])}'
        self.subjects[source, model if invocation.models == 1 else MIXED] = text
        return text

    def parts(self, invocation: Invocation) -> tuple[str, tuple[str, bytes]]:
        """The invocation's record as its varying head and the constant tail of its shape."""
        cold, ran, wrote = invocation.cold, invocation.rows > 0, invocation.wrote
        tail = self.tails[cold * 4 + ran * 2 + wrote] or self.tail(cold, ran, wrote)
        source = invocation.source
        head = self.subjects.get(
            (source, invocation.model if invocation.models < 2 else MIXED)
        ) or self.subject(source, invocation)
        failed = invocation.failed
        head += f',"RecordsScored":{invocation.records - failed},"RecordsFailed":{failed}'
        if cold:
            init = self.init
            phases = init.phases
            head += (
                f',"InitDuration":{init.total * 1000:.3f}'
                f',"InitDurationImports":{phases.get("imports", 0.0) * 1000:.3f}'
                f',"InitDurationModelLoad":{phases.get("model_load", 0.0) * 1000:.3f}'
                f',"InitDurationWarmUp":{phases.get("warm_up", 0.0) * 1000:.3f}'
            )
        if ran:
            decode, run, encode = invocation.decode, invocation.run, invocation.encode
            head += (
                f',"BatchSize":{invocation.rows}'
                f',"InferenceLatency":{int((decode + run + encode) * 1e6)}'
                f',"InferenceLatencyDecode":{int(decode * 1e6)}'
                f',"InferenceLatencyRun":{int(run * 1e6)}'
                f',"InferenceLatencyEncode":{int(encode * 1e6)}'
            )
        if wrote:
            head += f',"DestinationWriteLatency":{int(invocation.write * 1e6)}'
        # Properties, not metrics: present only when known.
        if invocation.request_id is not None:
            head += ',"requestId":' + _escape(invocation.request_id[:128])
        if invocation.trace_id is not None:
            head += ',"xray_trace_id":' + _escape(invocation.trace_id[:256])
        if invocation.traceparent is not None:
            head += ',"traceparent":' + _escape(invocation.traceparent[:256])
        if invocation.client_request_id is not None:
            head += ',"x_request_id":' + _escape(invocation.client_request_id[:256])
        return head + f',"_aws":{{"Timestamp":{int(time.time() * 1000)}', tail

    def record(self, invocation: Invocation) -> str:
        """The invocation's metrics record: one line of JSON."""
        head, (tail, _) = self.parts(invocation)
        return head + tail

    def emit(self, invocation: Invocation) -> None:
        """Write the invocation's record to stdout, where CloudWatch Logs picks it up."""
        head, (tail, tail_bytes) = self.parts(invocation)
        if sys.stdout is self.lambda_stdout:
            data = head.encode()
            # A blocking write of a line this short (under PIPE_BUF) goes out whole, in one piece.
            written = os.writev(self.fd, (data, tail_bytes))
            if written < len(data) + len(tail_bytes):
                rest = (data + tail_bytes)[written:]
                while rest:
                    rest = rest[os.write(self.fd, rest) :]
            return
        sys.stdout.write(head + tail)
