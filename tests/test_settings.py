"""Every environment variable the core reads: its default, a good value, and a bad one."""

from __future__ import annotations

from pathlib import Path

import pytest

from handler.errors import SettingsError
from handler.settings import BUNDLED_MODELS, LAMBDA_MODEL_LAYER, Destination, Settings

DIGEST = "ab" * 32


def test_defaults_outside_lambda_serve_the_bundled_models():
    settings = Settings.from_env({})

    assert settings.models == str(BUNDLED_MODELS)
    assert settings.model_names == ()
    assert settings.default_model is None
    assert settings.model_sha256 == {}
    assert settings.model_cache == Path("/tmp/onnx-lambda/models")
    assert settings.intra_op_threads >= 1
    assert settings.graph_optimization == "all"
    assert settings.warmup is True
    assert settings.max_body_bytes == 5 * 1024 * 1024
    assert settings.max_body_bytes < 6 * 1024 * 1024  # below Lambda's synchronous payload limit
    assert settings.max_batch_size == 8192
    assert settings.destination == Destination()
    assert settings.id_field == "id"
    assert settings.log_level == "INFO"
    assert settings.metrics is True
    assert settings.metrics_namespace == "OnnxLambda"
    assert settings.function_name == "onnx-lambda"


def test_on_lambda_models_default_to_the_model_layer():
    settings = Settings.from_env({"AWS_LAMBDA_FUNCTION_NAME": "scorer", "LAMBDA_TASK_ROOT": "/var/task"})

    assert settings.models == LAMBDA_MODEL_LAYER == "/opt/models"
    assert settings.function_name == "scorer"


@pytest.mark.parametrize(
    ("variable", "value", "attribute", "expected"),
    [
        ("ONNX_LAMBDA_MODELS", "s3://models-bucket/prod/", "models", "s3://models-bucket/prod/"),
        ("ONNX_LAMBDA_MODELS", "/srv/models", "models", "/srv/models"),
        ("ONNX_LAMBDA_MODEL_NAMES", " iris, diabetes ,", "model_names", ("iris", "diabetes")),
        ("ONNX_LAMBDA_DEFAULT_MODEL", "diabetes", "default_model", "diabetes"),
        ("ONNX_LAMBDA_MODEL_SHA256", f"iris={DIGEST.upper()}", "model_sha256", {"iris": DIGEST}),
        (
            "ONNX_LAMBDA_MODEL_SHA256",
            f"iris={DIGEST}, diabetes={'cd' * 32}",
            "model_sha256",
            {"iris": DIGEST, "diabetes": "cd" * 32},
        ),
        ("ONNX_LAMBDA_MODEL_CACHE", "/tmp/cache", "model_cache", Path("/tmp/cache")),
        ("ONNX_LAMBDA_INTRA_OP_THREADS", "3", "intra_op_threads", 3),
        ("ONNX_LAMBDA_GRAPH_OPTIMIZATION", "Basic", "graph_optimization", "basic"),
        ("ONNX_LAMBDA_GRAPH_OPTIMIZATION", "disable", "graph_optimization", "disable"),
        ("ONNX_LAMBDA_WARMUP", "off", "warmup", False),
        ("ONNX_LAMBDA_WARMUP", "YES", "warmup", True),
        ("ONNX_LAMBDA_MAX_BODY_BYTES", "1024", "max_body_bytes", 1024),
        ("ONNX_LAMBDA_MAX_BATCH_SIZE", "16", "max_batch_size", 16),
        (
            "ONNX_LAMBDA_DESTINATION",
            "s3://out-bucket/scores/",
            "destination",
            Destination("s3", "out-bucket", "scores"),
        ),
        ("ONNX_LAMBDA_ID_FIELD", "request_id", "id_field", "request_id"),
        ("ONNX_LAMBDA_LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("ONNX_LAMBDA_METRICS", "0", "metrics", False),
        ("ONNX_LAMBDA_METRICS_NAMESPACE", "Scoring", "metrics_namespace", "Scoring"),
        ("AWS_LAMBDA_FUNCTION_NAME", "scorer", "function_name", "scorer"),
    ],
    ids=lambda value: value if isinstance(value, str) and value.isupper() else "",
)
def test_variable_is_read_and_cast(variable, value, attribute, expected):
    assert getattr(Settings.from_env({variable: value}), attribute) == expected


@pytest.mark.parametrize(
    ("variable", "value", "choices"),
    [
        ("ONNX_LAMBDA_INTRA_OP_THREADS", "two", "an integer >= 1"),
        ("ONNX_LAMBDA_INTRA_OP_THREADS", "0", "an integer >= 1"),
        ("ONNX_LAMBDA_MAX_BODY_BYTES", "5MB", "an integer >= 1"),
        ("ONNX_LAMBDA_MAX_BATCH_SIZE", "-1", "an integer >= 1"),
        ("ONNX_LAMBDA_GRAPH_OPTIMIZATION", "fastest", "disable, basic, extended, all"),
        ("ONNX_LAMBDA_LOG_LEVEL", "verbose", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("ONNX_LAMBDA_WARMUP", "maybe", "1, true, yes, on, 0, false, no, off"),
        ("ONNX_LAMBDA_METRICS", "enabled", "1, true, yes, on, 0, false, no, off"),
        ("ONNX_LAMBDA_MODEL_SHA256", "iris", "MODEL=SHA256"),
        ("ONNX_LAMBDA_MODEL_SHA256", "iris=abc123", "64 hex digits"),
        ("ONNX_LAMBDA_MODEL_SHA256", f"iris={'zz' * 32}", "64 hex digits"),
        ("ONNX_LAMBDA_DESTINATION", "kafka://topic", "s3://BUCKET"),
        ("ONNX_LAMBDA_METRICS_NAMESPACE", "ml$scores", "0-9 A-Z a-z . - _ / # : and space"),
        ("ONNX_LAMBDA_METRICS_NAMESPACE", "AWS/Lambda", "not AWS/"),
        ("ONNX_LAMBDA_METRICS_NAMESPACE", "n" * 256, "up to 255"),
    ],
)
def test_bad_value_names_the_variable_the_value_and_the_valid_choices(variable, value, choices):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})

    message = str(raised.value)
    assert raised.value.variable == variable
    assert message.startswith(f"{variable}=")
    assert value.lower() in message.lower()
    assert choices in message


@pytest.mark.parametrize(
    "variable",
    [
        "ONNX_LAMBDA_MODELS",
        "ONNX_LAMBDA_GRAPH_OPTIMIZATION",
        "ONNX_LAMBDA_DESTINATION",
        "ONNX_LAMBDA_ID_FIELD",
        "ONNX_LAMBDA_LOG_LEVEL",
        "ONNX_LAMBDA_METRICS_NAMESPACE",
        "ONNX_LAMBDA_MAX_BATCH_SIZE",
        "ONNX_LAMBDA_WARMUP",
    ],
)
def test_a_blank_variable_is_the_default_as_an_unset_one(variable):
    assert Settings.from_env({variable: "  "}) == Settings.from_env({})


def test_settings_are_frozen():
    settings = Settings.from_env({})

    with pytest.raises(AttributeError):
        settings.max_body_bytes = 1  # type: ignore[misc]


def test_model_pins_cannot_be_changed_after_reading():
    settings = Settings.from_env({"ONNX_LAMBDA_MODEL_SHA256": f"iris={DIGEST}"})

    with pytest.raises(TypeError):
        settings.model_sha256["iris"] = "0" * 64  # type: ignore[index]
