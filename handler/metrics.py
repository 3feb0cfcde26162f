"""CloudWatch Embedded Metric Format: one JSON line on stdout per invocation, which CloudWatch Logs
turns into metrics without an API call.

Each line holds one `_aws` block with one metric directive (namespace, one dimension set:
FunctionName, EventSource, Model) and the values at the root. All of a line but its numbers and ids
is constant for each kind of invocation: the start (source and model) for each source and model, and
the long end (the metric directive, the function name) for each shape (cold or warm, model run or
not, destination written or not). Each pair is built the first time it occurs (`frame`); an
invocation formats only its numbers and ids between them (in this hot spot, every further
concatenation or tuple shows in the benchmark).

On Lambda, whose runtime flushes stdout on every write, the line goes out in one `os.write` on
stdout's file descriptor, without going through the text layers; anywhere else (tests, local runs)
it goes through `sys.stdout`. Imported only when ONNX_LAMBDA_METRICS is on.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from time import time as _time

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
    ("InitDurationDestination", MILLISECONDS),
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
        """Prepare for the records of this execution environment.

        namespace: the CloudWatch namespace (ONNX_LAMBDA_METRICS_NAMESPACE).
        function_name: the FunctionName dimension.
        init: the init phase's timings, reported with the first invocation.
        """
        self.namespace = namespace
        self.function_name = function_name
        self.init = init
        # By source, model (MIXED for several, None for none) and shape (cold * 4 + ran * 2 + wrote):
        # the text before the numbers and after them.
        self.frames: dict[tuple[str, object, int], tuple[str, str]] = {}
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

    def subject(self, invocation: Invocation, model: object) -> str:
        """The start of a record: EventSource, Model, model_version."""
        if model is None:
            name, version = NO_MODEL, None
        elif model is MIXED:
            name, version = MIXED, None
        else:
            assert invocation.model is not None
            name, version = invocation.model.name, invocation.model.version
        text = f'{{"EventSource":{_escape(invocation.source[:255])},"Model":{_escape(name[:255])}'
        if version is not None:
            text += f',"model_version":{_escape(version[:128])}'
        return text

    def tail(self, cold: bool, ran: bool, wrote: bool) -> str:
        """The constant end of a record of this shape: the metric directive, FunctionName, ColdStart."""
        directive = json.dumps(
            {
                "Namespace": self.namespace,
                "Dimensions": [list(DIMENSIONS)],
                "Metrics": [{"Name": name, "Unit": unit} for name, unit in self.metrics(cold, ran, wrote)],
            },
            separators=(",", ":"),
        )
        function = _escape(self.function_name[:255])
        return f',"CloudWatchMetrics":[{directive}]}},"FunctionName":{function},"ColdStart":{int(cold)}}}\n'

    def rare(self, invocation: Invocation) -> str:
        """The values only some records carry: init durations (cold starts), write latency."""
        text = ""
        if invocation.cold:
            init = self.init
            phases = init.phases
            text += (
                f',"InitDuration":{init.total * 1000:.3f}'
                f',"InitDurationImports":{phases.get("imports", 0.0) * 1000:.3f}'
                f',"InitDurationModelLoad":{phases.get("model_load", 0.0) * 1000:.3f}'
                f',"InitDurationWarmUp":{phases.get("warm_up", 0.0) * 1000:.3f}'
                f',"InitDurationDestination":{phases.get("destination", 0.0) * 1000:.3f}'
            )
        if invocation.wrote:
            text += f',"DestinationWriteLatency":{int(invocation.write * 1e6)}'
        return text

    def frame(self, invocation: Invocation, model: object, shape: int) -> tuple[str, str]:
        """The constant text before and after a record's numbers, for this source, model and shape;
        built once for each."""
        tail = self.tail(shape >= 4, bool(shape & 2), bool(shape & 1))
        frame = (self.subject(invocation, model) + ',"RecordsScored":', tail)
        self.frames[invocation.source, model, shape] = frame
        return frame

    def record(self, invocation: Invocation) -> str:
        """The invocation's metrics record: one line of JSON.

        The common record on Lambda (warm, one model run, a request id and a trace header, nothing
        written) is one f-string between its cached frame; others add their rarer values.
        """
        cold, rows, wrote, failed = invocation.cold, invocation.rows, invocation.wrote, invocation.failed
        model = invocation.model if invocation.models < 2 else MIXED
        shape = cold * 4 + (rows > 0) * 2 + wrote
        head, tail = self.frames.get((invocation.source, model, shape)) or self.frame(
            invocation, model, shape
        )
        if rows:
            decode, run, encode = (
                int(invocation.decode * 1e6),
                int(invocation.run * 1e6),
                int(invocation.encode * 1e6),
            )
            numbers = (
                f'{invocation.records - failed},"RecordsFailed":{failed},"BatchSize":{rows}'
                f',"InferenceLatency":{decode + run + encode},"InferenceLatencyDecode":{decode}'
                f',"InferenceLatencyRun":{run},"InferenceLatencyEncode":{encode}'
            )
        else:
            numbers = f'{invocation.records - failed},"RecordsFailed":{failed}'
        if cold or wrote:
            numbers += self.rare(invocation)
        # Properties, not metrics: the correlation ids, present only when known.
        request_id, trace_id = invocation.request_id, invocation.trace_id
        if (
            request_id is None
            or trace_id is None
            or invocation.traceparent is not None
            or invocation.client_request_id is not None
        ):
            ids = self.ids(invocation)
        else:
            ids = f',"requestId":{_escape(request_id[:128])},"xray_trace_id":{_escape(trace_id[:256])}'
        return f'{head}{numbers}{ids},"_aws":{{"Timestamp":{int(_time() * 1000)}{tail}'

    @staticmethod
    def ids(invocation: Invocation) -> str:
        """The correlation ids a record carries, each only when known."""
        ids = ""
        if invocation.request_id is not None:
            ids += ',"requestId":' + _escape(invocation.request_id[:128])
        if invocation.trace_id is not None:
            ids += ',"xray_trace_id":' + _escape(invocation.trace_id[:256])
        if invocation.traceparent is not None:
            ids += ',"traceparent":' + _escape(invocation.traceparent[:256])
        if invocation.client_request_id is not None:
            ids += ',"x_request_id":' + _escape(invocation.client_request_id[:256])
        return ids

    def emit(self, invocation: Invocation) -> None:
        """Write the invocation's record to stdout, where CloudWatch Logs picks it up."""
        line = self.record(invocation)
        if sys.stdout is self.lambda_stdout:
            # A blocking write of a line this short (under PIPE_BUF) goes out whole, in one piece.
            data = line.encode()
            written = os.write(self.fd, data)
            while written < len(data):
                data = data[written:]
                written = os.write(self.fd, data)
            return
        sys.stdout.write(line)
