"""CloudWatch Embedded Metric Format: one JSON line on stdout per invocation, which CloudWatch Logs
turns into metrics without an API call.

Each line holds one `_aws` block with one metric directive (namespace, one dimension set:
FunctionName, EventSource, Model) and the values at the root. The JSON text is prebuilt per shape of
invocation (cold or warm, model run or not, destination written or not) when that shape first
occurs; an invocation only fills in numbers and a few escaped strings and writes the line with one
`write`. Imported only when ONNX_LAMBDA_METRICS is on.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from handler.invocation import InitTimings, Invocation

DIMENSIONS = ("FunctionName", "EventSource", "Model")
COUNT = "Count"
MILLISECONDS = "Milliseconds"
NO_MODEL = "none"

_escape: Callable[[str], str] = json.encoder.encode_basestring_ascii

ALWAYS = (("ColdStart", COUNT), ("RecordsScored", COUNT), ("RecordsFailed", COUNT))
ON_COLD_START = (
    ("InitDuration", MILLISECONDS),
    ("InitDurationImports", MILLISECONDS),
    ("InitDurationModelLoad", MILLISECONDS),
    ("InitDurationWarmUp", MILLISECONDS),
)
WHEN_RUN = (
    ("BatchSize", COUNT),
    ("InferenceLatency", MILLISECONDS),
    ("InferenceLatencyDecode", MILLISECONDS),
    ("InferenceLatencyRun", MILLISECONDS),
    ("InferenceLatencyEncode", MILLISECONDS),
)
WHEN_WRITTEN = (("DestinationWriteLatency", MILLISECONDS),)
PROPERTIES = ("requestId", "model_version", "xray_trace_id", "traceparent", "x_request_id")


def _text(value: str | None, limit: int = 256) -> str:
    """A JSON string (or null) for a value that may come from a caller, capped."""
    if value is None:
        return "null"
    return _escape(value[:limit])


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
        self.templates: dict[tuple[bool, bool, bool], str] = {}

    def metrics(self, cold: bool, ran: bool, wrote: bool) -> tuple[tuple[str, str], ...]:
        """The (name, unit) of each metric a record of this shape carries, in value order."""
        return (
            ALWAYS
            + (ON_COLD_START if cold else ())
            + (WHEN_RUN if ran else ())
            + (WHEN_WRITTEN if wrote else ())
        )

    def template(self, cold: bool, ran: bool, wrote: bool) -> str:
        """The record's JSON text, with %-placeholders for everything that varies per invocation."""
        metrics = self.metrics(cold, ran, wrote)
        directive = json.dumps(
            {
                "Namespace": self.namespace,
                "Dimensions": [list(DIMENSIONS)],
                "Metrics": [{"Name": name, "Unit": unit} for name, unit in metrics],
            },
            separators=(",", ":"),
        ).replace("%", "%%")
        function = _escape(self.function_name[:255]).replace("%", "%%")
        values = "".join(f',"{name}":%d' if unit == COUNT else f',"{name}":%.3f' for name, unit in metrics)
        properties = "".join(f',"{name}":%s' for name in PROPERTIES)
        text = (
            '{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[' + directive + "]},"
            '"FunctionName":' + function + ',"EventSource":%s,"Model":%s' + values + properties + "}\n"
        )
        self.templates[cold, ran, wrote] = text
        return text

    def record(self, invocation: Invocation) -> str:
        """The invocation's metrics record: one line of JSON."""
        cold, ran, wrote = invocation.cold, invocation.rows > 0, invocation.wrote
        template = self.templates.get((cold, ran, wrote)) or self.template(cold, ran, wrote)
        model = invocation.model_name
        values: tuple[object, ...] = (
            int(time.time() * 1000),
            _escape(invocation.source),
            _escape(model[:255]) if model else '"' + NO_MODEL + '"',
            1 if cold else 0,
            invocation.records - invocation.failed,
            invocation.failed,
        )
        if cold:
            init = self.init
            phases = init.phases
            values += (
                init.total * 1000,
                phases.get("imports", 0.0) * 1000,
                phases.get("model_load", 0.0) * 1000,
                phases.get("warm_up", 0.0) * 1000,
            )
        if ran:
            decode, run, encode = invocation.decode, invocation.run, invocation.encode
            values += (
                invocation.rows,
                (decode + run + encode) * 1000,
                decode * 1000,
                run * 1000,
                encode * 1000,
            )
        if wrote:
            values += (invocation.write * 1000,)
        version = invocation.model_version
        return template % (
            *values,
            _text(invocation.request_id, 128),
            _text(version, 128),
            _text(invocation.trace_id),
            _text(invocation.traceparent),
            _text(invocation.client_request_id),
        )

    def emit(self, invocation: Invocation) -> None:
        """Write the invocation's record to stdout, where CloudWatch Logs picks it up."""
        sys.stdout.write(self.record(invocation))
