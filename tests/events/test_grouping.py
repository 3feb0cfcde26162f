"""Consecutive items grouped under a count and a size limit (session runs and batch API calls)."""

from __future__ import annotations

import pytest

from handler.events.grouping import groups


@pytest.mark.parametrize(
    ("sizes", "max_count", "max_total", "expected"),
    [
        ([], 10, 100, []),
        ([1, 1, 1], 2, 100, [[0, 1], [2]]),
        ([40, 40, 40], 10, 100, [[0, 1], [2]]),
        ([40, 60, 1], 10, 100, [[0, 1], [2]]),
        ([150, 10], 10, 100, [[0], [1]]),  # an item over the limit still goes, on its own
        ([5, 5, 5], 1, 100, [[0], [1], [2]]),
    ],
)
def test_groups_keep_order_and_both_limits(sizes, max_count, max_total, expected):
    assert list(groups(sizes, max_count, max_total)) == expected
