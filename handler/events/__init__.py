"""The event entry point: queue messages, stream records and S3 objects scored in batches.

Each source is one small class that recognises its event (`infer`), turns it into records, and
turns the outcome back into what that source expects. `SOURCES` is tried in order, first match
wins, as Mangum's HANDLERS are: SQS, the most common, first; S3's EventBridge notifications before
the generic EventBridge source that would also match them.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from handler.environment import SETTINGS, STORE
from handler.errors import OnnxLambdaError, RecordsFailed, UnrecognisedEvent
from handler.events.batch import EventScorer, Outcome
from handler.events.destinations import open_writer
from handler.events.dynamodb import DynamoDbSource
from handler.events.eventbridge import EventBridgeSource
from handler.events.kinesis import KinesisSource
from handler.events.records import Record
from handler.events.s3 import S3EventBridgeSource, S3Source
from handler.events.sns import SnsSource
from handler.events.sqs import SqsSource
from handler.events.types import LambdaContext
from handler.invocation import CURRENT, INIT

INIT.lap("imports")
logger = logging.getLogger("onnx_lambda.events")


class Source(Protocol):
    """One event source: recognises its events and speaks its response format."""

    name: str

    def infer(self, event: Any) -> bool: ...

    def ordered(self, event: Any) -> bool: ...

    def records(self, event: Any) -> list[Record]: ...

    def respond(self, outcome: Outcome) -> Any: ...


SOURCES: tuple[Source, ...] = (
    SqsSource(),
    S3Source(),
    S3EventBridgeSource(),
    SnsSource(),
    KinesisSource(),
    DynamoDbSource(),
    EventBridgeSource(),
)
EXPECTED = (
    "an SQS, SNS, Kinesis, DynamoDB Streams or S3 event (Records with eventSource aws:sqs, aws:sns, "
    "aws:kinesis, aws:dynamodb or aws:s3) or an EventBridge event (detail-type, source, detail)"
)

# Created once per execution environment: the destination's boto3 client, if it has one.
SCORER = EventScorer(STORE, SETTINGS, open_writer(SETTINGS.destination, SETTINGS))
INIT.lap("destination")  # importing boto3 and creating the client: often the longest phase
INIT.done()


def describe(event: Any) -> str:
    """Name what an event looks like, for errors about events nobody recognises."""
    if isinstance(event, dict):
        records = event.get("Records")
        if isinstance(records, list) and records and isinstance(records[0], dict):
            source = records[0].get("eventSource") or records[0].get("EventSource") or "unknown source"
            return f"a Records event from {source}"
        return f"an object with keys {sorted(event)[:10]}"
    return f"a JSON {type(event).__name__}"


def recognise(event: Any) -> Source:
    """The first source that claims the event, or UnrecognisedEvent naming what arrived."""
    for source in SOURCES:
        if source.infer(event):
            return source
    raise UnrecognisedEvent(f"no event source recognises {describe(event)}; expected {EXPECTED}")


def handle(event: Any, context: LambdaContext | None, scorer: EventScorer) -> Any:
    """Score one event with `scorer` and answer as its source expects."""
    source = recognise(event)
    try:
        records = source.records(event)
        ordered = source.ordered(event)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        # AWS never sends these; a hand-made event missing a field gets a message, not a KeyError.
        raise UnrecognisedEvent(
            f"the {source.name} event is malformed ({type(exc).__name__}: {exc}); "
            f"expected the shape AWS sends, as in events/*.json"
        ) from None
    outcome = scorer.run(source.name, records, context, ordered=ordered)
    return source.respond(outcome)


def lambda_handler(event: Any, context: Any) -> Any:
    """Score one non-HTTP event."""
    invocation = CURRENT.begin(context, "unknown")
    try:
        return handle(event, context, SCORER)
    except RecordsFailed:
        raise  # each failed record has its own log line already
    except OnnxLambdaError as exc:
        logger.error(exc.message)
        raise
    except Exception:
        logger.exception("the invocation failed on an unexpected error")
        raise
    finally:
        invocation.finish()
