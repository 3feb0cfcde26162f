"""Consecutive items grouped under a count and a size limit: session runs, and batch API calls."""

from __future__ import annotations

from collections.abc import Iterator, Sequence


def groups(sizes: Sequence[int], max_count: int, max_total: int) -> Iterator[list[int]]:
    """Positions into `sizes`, in order, grouped to at most `max_count` items whose sizes add up to
    at most `max_total`; an item over `max_total` on its own still makes a group of one."""
    group: list[int] = []
    total = 0
    for position, size in enumerate(sizes):
        if group and (len(group) == max_count or total + size > max_total):
            yield group
            group, total = [], 0
        group.append(position)
        total += size
    if group:
        yield group
