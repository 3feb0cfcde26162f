"""The errors this function raises; each carries its HTTP status and a message for the caller."""

from __future__ import annotations


class OnnxLambdaError(Exception):
    """Base of every error the function raises on purpose."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(OnnxLambdaError):
    """The request or record is malformed or does not fit the model's inputs."""

    status = 400


class ModelNotFound(OnnxLambdaError):
    """No loaded model has the requested name or version."""

    status = 404


class PayloadTooLarge(OnnxLambdaError):
    """The request body is over ONNX_LAMBDA_MAX_BODY_BYTES (a batch over its limit is InvalidInput)."""

    status = 413


class UnsupportedMediaType(OnnxLambdaError):
    """The request's content type is not one this route reads."""

    status = 415


class UnrecognisedEvent(OnnxLambdaError):
    """No event source recognises the Lambda event."""

    status = 400


class ModelLoadError(OnnxLambdaError):
    """A model could not be loaded at init (missing, corrupt, or digest mismatch)."""


class SettingsError(OnnxLambdaError):
    """An environment variable holds a value the function cannot use."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        super().__init__(f"{variable}={value!r} is not valid: expected {expected}")
        self.variable = variable


class DestinationError(OnnxLambdaError):
    """Predictions could not be written to the configured destination."""

    status = 502


class RecordsFailed(OnnxLambdaError):
    """Some records of an event that has no partial-failure response failed; raised so Lambda retries."""
