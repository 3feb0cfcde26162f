"""ONNX_LAMBDA_DESTINATION: parsed at start, and `return` never imports boto3."""

from __future__ import annotations

import subprocess
import sys

import pytest

from handler.errors import SettingsError
from handler.settings import Destination, Settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("return", Destination()),
        ("s3://predictions", Destination("s3", "predictions")),
        ("s3://predictions/scored/daily/", Destination("s3", "predictions", "scored/daily")),
        ("dynamodb://Predictions", Destination("dynamodb", "Predictions")),
        ("sqs://scored.fifo", Destination("sqs", "scored.fifo")),
        (
            "sqs://https://sqs.eu-west-1.amazonaws.com/123456789012/scored",
            Destination("sqs", "https://sqs.eu-west-1.amazonaws.com/123456789012/scored"),
        ),
        (
            "sns://arn:aws:sns:eu-west-1:123456789012:scored",
            Destination("sns", "arn:aws:sns:eu-west-1:123456789012:scored"),
        ),
        ("events://default", Destination("events", "default")),
    ],
)
def test_destinations_parse(value, expected):
    assert Settings.from_env({"ONNX_LAMBDA_DESTINATION": value}).destination == expected


@pytest.mark.parametrize("value", ["kafka://topic", "s3://", "sns://not-an-arn", "dynamodb://a/b", "bucket"])
def test_a_bad_destination_fails_at_start_naming_the_variable_and_the_forms(value):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"ONNX_LAMBDA_DESTINATION": value})
    assert "ONNX_LAMBDA_DESTINATION" in caught.value.message
    assert value in caught.value.message


def test_the_return_destination_does_not_import_boto3():
    script = (
        "import sys\n"
        "from handler.events.destinations import open_writer\n"
        "from handler.settings import Settings\n"
        "settings = Settings.from_env({})\n"
        "writer = open_writer(settings.destination, settings)\n"
        "print(writer.returns, 'boto3' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1].split() == ["True", "False"]
