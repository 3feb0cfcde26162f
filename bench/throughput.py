"""Batch throughput and memory, through the event benchmark's workers (bench/events_throughput.py).

    python bench/throughput.py [--repeats 3] [--s3-rows 100000] [--rss-rows 100000] [--rss-repeats 1]

Throughput: SQS 10 messages x 100 rows and an S3 CSV object, each scenario in a fresh interpreter
that interleaves onnx-lambda, the hand-written floor (one session run) and the per-record loop.
Memory: peak RSS while scoring an S3 CSV of `--rss-rows` and ten times as many rows, each in a
fresh interpreter against a moto server in another process (the object is never in the measured
process). See bench/events_throughput.py for the variants and how each is measured.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import events_throughput as events
from bench.common import Progress


def run(repeats: int, s3_rows: int, rss_rows: int, rss_repeats: int) -> dict[str, Any]:
    """Rows/s of every variant per scenario, and peak RSS against the S3 object's size."""
    progress = Progress("throughput and memory", 3)
    scenarios = {
        ("sqs", events.SQS_MESSAGES * events.SQS_ROWS): events.spawn(
            ["--worker", "sqs", "0", str(repeats * 4)]
        )
    }
    progress.step(f"SQS {events.SQS_MESSAGES} x {events.SQS_ROWS} rows")
    scenarios[("s3", s3_rows)] = events.spawn(["--worker", "s3", str(s3_rows), str(repeats)])
    progress.step(f"S3 CSV {s3_rows:,} rows")
    memory = events.memory(rss_rows, rss_repeats)
    progress.step(f"peak RSS at {rss_rows:,} and {rss_rows * 10:,} rows")
    results = [
        {
            "scenario": scenario,
            "rows": rows,
            "variant": variant,
            "rows_scored": measured[variant]["rows"],
            "invoke_ms": measured[variant]["seconds"] * 1000,
            "rows_per_s": measured[variant]["rows"] / measured[variant]["seconds"],
        }
        for (scenario, rows), measured in scenarios.items()
        for variant in events.VARIANTS
    ]
    return {"results": results, "memory": memory}


def table(result: dict[str, Any]) -> str:
    lines = [
        "| scenario | rows | variant | ms/invoke | rows/s | ÷ floor |",
        "|---|---:|---|---:|---:|---:|",
    ]
    floors = {
        (r["scenario"], r["rows"]): r["rows_per_s"] for r in result["results"] if r["variant"] == "floor"
    }
    for row in result["results"]:
        name = "SQS" if row["scenario"] == "sqs" else "S3 CSV"
        lines.append(
            f"| {name} | {row['rows']:,} | {row['variant']} | {row['invoke_ms']:.1f} | "
            f"{row['rows_per_s']:,.0f} | {row['rows_per_s'] / floors[(row['scenario'], row['rows'])]:.2f} |"
        )
    lines += [
        "",
        "Per-record: the same parsing and output, one session run per row (S3: an object of at most "
        f"the first {events.PER_ROW_LIMIT:,} rows; rows/s compared).",
        "",
        "| S3 CSV rows | RSS before MB | peak RSS while scoring MB | growth MB |",
        "|---:|---:|---:|---:|",
    ]
    for point in result["memory"]:
        lines.append(
            f"| {point['rows']:,} | {point['before_mb']:.0f} | {point['peak_mb']:.0f} | "
            f"{point['peak_mb'] - point['before_mb']:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--s3-rows", type=int, default=100_000)
    parser.add_argument("--rss-rows", type=int, default=100_000)
    parser.add_argument("--rss-repeats", type=int, default=1)
    args = parser.parse_args()
    print(table(run(args.repeats, args.s3_rows, args.rss_rows, args.rss_repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
