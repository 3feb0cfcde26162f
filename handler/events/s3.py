"""S3 object-created notifications, direct or via EventBridge; a failure raises so Lambda retries.

(Notifications wrapped in SQS or SNS messages arrive through those sources and are unwrapped by
`handler.events.records.s3_objects`.)
"""

from __future__ import annotations

from typing import Any

from handler.events.batch import Outcome, raise_on_failure
from handler.events.records import ObjectRef, Record, s3_objects
from handler.events.report import report_skip
from handler.events.sqs import records_from
from handler.events.types import ScoredResponse


class S3Source:
    """An S3 event notification sent straight to the function."""

    name = "s3"

    def infer(self, event: Any) -> bool:
        return records_from(event, "aws:s3") is not None

    def ordered(self, event: Any) -> bool:
        return False

    def records(self, event: Any) -> list[Record]:
        refs = s3_objects(event) or []
        if not refs:
            report_skip("s3", "the notification names no created objects")
        return [_object_record(ref) for ref in refs]

    def respond(self, outcome: Outcome) -> ScoredResponse:
        return raise_on_failure(outcome)


class S3EventBridgeSource:
    """S3's `Object Created` event delivered by EventBridge."""

    name = "s3"

    def infer(self, event: Any) -> bool:
        return (
            isinstance(event, dict)
            and event.get("source") == "aws.s3"
            and event.get("detail-type") == "Object Created"
            and isinstance(event.get("detail"), dict)
        )

    def ordered(self, event: Any) -> bool:
        return False

    def records(self, event: Any) -> list[Record]:
        detail = event["detail"]
        obj = detail["object"]
        ref = ObjectRef(
            bucket=detail["bucket"]["name"],
            key=obj["key"],
            version_id=obj.get("version-id") or None,
            etag=obj.get("etag") or None,
        )
        return [_object_record(ref)]

    def respond(self, outcome: Outcome) -> ScoredResponse:
        return raise_on_failure(outcome)


def _object_record(ref: ObjectRef) -> Record:
    identifier = ref.url + (f"?versionId={ref.version_id}" if ref.version_id else "")
    return Record(identifier, identifier, None, objects=[ref])
