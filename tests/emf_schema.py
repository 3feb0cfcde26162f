"""The CloudWatch Embedded Metric Format rules a record must follow, checked the way CloudWatch Logs reads it.

From the published specification (CloudWatch_Embedded_Metric_Format_Specification): the log event is
one JSON object with nothing before or after it; its root has exactly one `_aws` member holding
`Timestamp` (milliseconds since the epoch) and `CloudWatchMetrics`, an array of metric directives;
each directive has a `Namespace` (1 to 255 characters), `Dimensions` (an array of dimension sets of
at most 30 keys, each naming a root member whose value is a string) and `Metrics` (at most 100
definitions, each a `Name` naming a root member whose value is a number or an array of at most 100
numbers, an optional `Unit` from CloudWatch's list and an optional `StorageResolution` of 1 or 60).
Objects the specification defines carry no other members.
"""

from __future__ import annotations

import json
from typing import Any

UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)


def _root_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicated, f"members appear twice in one object: {duplicated}"
    return dict(pairs)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_emf(line: str) -> dict[str, Any]:
    """Parse one EMF log line, assert every rule above, and return the root object."""
    assert line.endswith("\n") or "\n" not in line, "a record is one line"
    assert "\n" not in line.rstrip("\n"), "a record is one line"
    assert line.count('"_aws"') == 1, "exactly one _aws block"
    root = json.loads(line, object_pairs_hook=_root_members)
    assert isinstance(root, dict)
    assert "_aws" in root, "the root has an _aws member"
    metadata = root["_aws"]
    assert set(metadata) <= {"Timestamp", "CloudWatchMetrics"}, f"extra _aws members: {set(metadata)}"
    assert _is_number(metadata["Timestamp"])
    assert isinstance(metadata["Timestamp"], int)
    assert metadata["Timestamp"] > 1_500_000_000_000, "Timestamp is milliseconds since the epoch"
    directives = metadata["CloudWatchMetrics"]
    assert isinstance(directives, list)
    assert directives
    for directive in directives:
        assert set(directive) <= {"Namespace", "Dimensions", "Metrics"}, set(directive)
        namespace = directive["Namespace"]
        assert isinstance(namespace, str)
        assert 1 <= len(namespace) <= 255
        dimension_sets = directive["Dimensions"]
        assert isinstance(dimension_sets, list)
        for dimension_set in dimension_sets:
            assert isinstance(dimension_set, list)
            assert len(dimension_set) <= 30
            for key in dimension_set:
                assert key in root, f"dimension {key!r} is not a root member"
                value = root[key]
                assert isinstance(value, str), f"dimension {key}={value!r} is not a string"
                assert 1 <= len(value) <= 1024, f"dimension {key} is {len(value)} characters"
        definitions = directive["Metrics"]
        assert isinstance(definitions, list)
        assert len(definitions) <= 100
        names = [definition["Name"] for definition in definitions]
        assert len(names) == len(set(names)), f"a metric is declared twice: {names}"
        for definition in definitions:
            assert set(definition) <= {"Name", "Unit", "StorageResolution"}, set(definition)
            name = definition["Name"]
            assert isinstance(name, str)
            assert 1 <= len(name) <= 255
            assert name in root, f"metric {name!r} has no value in the root"
            value = root[name]
            if isinstance(value, list):
                assert 1 <= len(value) <= 100, value
                assert all(_is_number(item) for item in value), value
            else:
                assert _is_number(value), f"metric {name}={value!r} is not a number"
            assert definition.get("Unit", "None") in UNITS, definition
            assert definition.get("StorageResolution", 60) in (1, 60), definition
    return root


def metric_units(root: dict[str, Any]) -> dict[str, str]:
    """Each declared metric's unit, by name."""
    return {
        definition["Name"]: definition.get("Unit", "None")
        for directive in root["_aws"]["CloudWatchMetrics"]
        for definition in directive["Metrics"]
    }


def emf_records(output: str) -> list[dict[str, Any]]:
    """Every EMF record among the lines of `output` (log lines aside), each checked against the rules."""
    records = []
    for line in output.splitlines(keepends=True):
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict) and "_aws" in document:
            records.append(check_emf(line))
    return records
