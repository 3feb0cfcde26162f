"""Every setting of the deployed function, read from the environment in this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from handler.errors import SettingsError

BUNDLED_MODELS = Path(__file__).resolve().parent.parent / "models"
LAMBDA_MODEL_LAYER = "/opt/models"
GRAPH_OPTIMIZATION_LEVELS = ("disable", "basic", "extended", "all")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Lambda's own log level names (advanced logging controls, AWS_LAMBDA_LOG_LEVEL) in Python's terms.
_LAMBDA_LOG_LEVELS = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}
DESTINATION_FORMS = (
    "return, s3://BUCKET[/PREFIX], dynamodb://TABLE, sqs://QUEUE-NAME-OR-URL, "
    "sns://TOPIC-ARN or events://BUS-NAME"
)
# What CloudWatch accepts in a namespace; with any other character every EMF record is dropped.
_NAMESPACE_CHARACTERS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-_/#: ")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _on_lambda(environ: Mapping[str, str]) -> bool:
    return "AWS_LAMBDA_FUNCTION_NAME" in environ and "LAMBDA_TASK_ROOT" in environ


def _visible_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS has no sched_getaffinity
        return os.cpu_count() or 1


class Destination(NamedTuple):
    """Where event scoring writes predictions: `kind` is return, s3, dynamodb, sqs, sns or events."""

    kind: str = "return"
    target: str = ""
    prefix: str = ""

    def __str__(self) -> str:
        if self.kind == "return":
            return "return"
        return f"{self.kind}://{self.target}" + (f"/{self.prefix}" if self.prefix else "")


class Settings(NamedTuple):
    """The function's configuration, cast and checked; build it with `Settings.from_env()`.

    Immutable. Settings and the other value types on the cold path are NamedTuples, not
    dataclasses: a dataclass compiles its generated methods when its module is imported, 0.3-1.4 ms
    per class here, which every cold start would pay; a NamedTuple takes about 0.2 ms.
    """

    models: str = str(BUNDLED_MODELS)
    model_names: tuple[str, ...] = ()
    default_model: str | None = None
    model_sha256: Mapping[str, str] = MappingProxyType({})
    model_cache: Path = Path("/tmp/onnx-lambda/models")
    intra_op_threads: int = 1
    graph_optimization: str = "all"
    warmup: bool = True
    max_body_bytes: int = 5 * 1024 * 1024
    max_batch_size: int = 8192
    destination: Destination = Destination()
    deadline_margin_ms: int = 1000
    id_field: str = "id"
    log_level: str = "INFO"
    metrics: bool = True
    metrics_namespace: str = "OnnxLambda"
    function_name: str = "onnx-lambda"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `ONNX_LAMBDA_*` variables; a bad value raises `SettingsError` naming it."""
        env = os.environ if environ is None else environ
        reader = _Reader(env)
        default_models = LAMBDA_MODEL_LAYER if _on_lambda(env) else str(BUNDLED_MODELS)
        return cls(
            models=reader.text("ONNX_LAMBDA_MODELS", default_models),
            model_names=reader.names("ONNX_LAMBDA_MODEL_NAMES"),
            default_model=reader.text("ONNX_LAMBDA_DEFAULT_MODEL", "") or None,
            model_sha256=reader.digests("ONNX_LAMBDA_MODEL_SHA256"),
            model_cache=Path(reader.text("ONNX_LAMBDA_MODEL_CACHE", "/tmp/onnx-lambda/models")),
            intra_op_threads=reader.integer("ONNX_LAMBDA_INTRA_OP_THREADS", _visible_cpus(), 1),
            graph_optimization=reader.choice(
                "ONNX_LAMBDA_GRAPH_OPTIMIZATION", "all", GRAPH_OPTIMIZATION_LEVELS
            ),
            warmup=reader.flag("ONNX_LAMBDA_WARMUP", True),
            max_body_bytes=reader.integer("ONNX_LAMBDA_MAX_BODY_BYTES", 5 * 1024 * 1024, 1),
            max_batch_size=reader.integer("ONNX_LAMBDA_MAX_BATCH_SIZE", 8192, 1),
            destination=reader.destination("ONNX_LAMBDA_DESTINATION"),
            deadline_margin_ms=reader.integer("ONNX_LAMBDA_DEADLINE_MARGIN_MS", 1000, 0),
            id_field=reader.text("ONNX_LAMBDA_ID_FIELD", "id"),
            log_level=reader.choice("ONNX_LAMBDA_LOG_LEVEL", _lambda_log_level(env), LOG_LEVELS, upper=True),
            metrics=reader.flag("ONNX_LAMBDA_METRICS", True),
            metrics_namespace=reader.namespace("ONNX_LAMBDA_METRICS_NAMESPACE", "OnnxLambda"),
            function_name=reader.text("AWS_LAMBDA_FUNCTION_NAME", "onnx-lambda"),
        )


class _Reader:
    """Casts environment variables, raising `SettingsError` with the variable and valid choices."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def text(self, name: str, default: str) -> str:
        """The variable's value, stripped; unset or blank, `default` (every reader treats blank so)."""
        return self.environ.get(name, "").strip() or default

    def names(self, name: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.text(name, "").split(",") if part.strip())

    def flag(self, name: str, default: bool) -> bool:
        value = self.text(name, "").lower()
        if not value:
            return default
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise SettingsError(name, value, "one of " + ", ".join(_TRUE + _FALSE))

    def integer(self, name: str, default: int, minimum: int) -> int:
        value = self.text(name, "")
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(name, value, f"an integer >= {minimum}") from None
        if number < minimum:
            raise SettingsError(name, value, f"an integer >= {minimum}")
        return number

    def choice(self, name: str, default: str, choices: tuple[str, ...], upper: bool = False) -> str:
        value = self.text(name, default)
        value = value.upper() if upper else value.lower()
        if value not in choices:
            raise SettingsError(name, value, "one of " + ", ".join(choices))
        return value

    def destination(self, name: str) -> Destination:
        value = self.text(name, "return")
        if value.lower() == "return":
            return Destination()
        kind, sep, rest = value.partition("://")
        kind = kind.lower()
        rest = rest.strip("/")
        if not sep or not rest or kind not in ("s3", "dynamodb", "sqs", "sns", "events"):
            raise SettingsError(name, value, DESTINATION_FORMS)
        if kind == "s3":
            bucket, _, prefix = rest.partition("/")
            return Destination("s3", bucket, prefix.strip("/"))
        if kind == "sns" and not rest.startswith("arn:"):
            raise SettingsError(name, value, "sns://arn:aws:sns:REGION:ACCOUNT:TOPIC (a topic ARN)")
        if kind == "sqs" and "/" in rest and not rest.startswith(("https:", "http:")):
            rest = "https://" + rest
        if kind in ("dynamodb", "events") and "/" in rest:
            raise SettingsError(name, value, f"{kind}://NAME with no slash")
        return Destination(kind, rest)

    def namespace(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if len(value) > 255 or not _NAMESPACE_CHARACTERS.issuperset(value) or value.startswith("AWS/"):
            raise SettingsError(
                name,
                value,
                "a CloudWatch namespace: up to 255 of 0-9 A-Z a-z . - _ / # : and space, not AWS/...",
            )
        return value

    def digests(self, name: str) -> Mapping[str, str]:
        pins: dict[str, str] = {}
        for entry in self.names(name):
            model, sep, digest = entry.partition("=")
            digest = digest.strip().lower()
            if not sep or not model.strip() or len(digest) != 64 or not _is_hex(digest):
                raise SettingsError(name, entry, "comma-separated MODEL=SHA256 pairs with 64 hex digits each")
            pins[model.strip()] = digest
        return MappingProxyType(pins)


def _lambda_log_level(environ: Mapping[str, str]) -> str:
    """The level Lambda's logging controls ask for (AWS_LAMBDA_LOG_LEVEL), else INFO."""
    level = environ.get("AWS_LAMBDA_LOG_LEVEL", "").strip().upper()
    level = _LAMBDA_LOG_LEVELS.get(level, level)
    return level if level in LOG_LEVELS else "INFO"


def _is_hex(text: str) -> bool:
    return all(char in "0123456789abcdef" for char in text)
