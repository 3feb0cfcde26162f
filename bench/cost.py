"""Estimated USD per million predictions, from durations measured in this run and bench/prices.py.

Assumptions, printed beside every table:
  * A duration measured here is taken as the duration on one full Lambda vCPU (1,769 MB). Below
    1,769 MB Lambda gives a proportional share of a vCPU, so the duration is scaled by
    1769 / memory; above it the extra vCPU fraction is assumed to buy nothing (one request runs
    Python on one thread at a time), so the duration stays the same.
  * arm64 (Graviton) is assumed to take as long as x86_64; only its price differs. Not measured.
  * Billed duration is rounded up to the next millisecond per invocation.
  * Init (cold start) is billed since August 2025 and amortised over the invocations one
    execution environment serves; that count is a parameter (default 1,000).
"""

from __future__ import annotations

import math
from typing import Any

from bench import prices

ASSUMPTIONS = (
    f"Prices: {prices.PRICES_SOURCE}, read {prices.PRICES_DATE}. "
    f"Durations measured on this machine count as one full vCPU ({prices.MB_PER_VCPU} MB); below that "
    f"they are scaled by {prices.MB_PER_VCPU}/memory, above it kept as measured (a request runs on one "
    "thread). arm64 assumed as fast as x86_64. "
    f"Billed duration rounded up to {prices.BILLING_GRANULARITY_MS} ms. Init time billed and "
    "amortised over {invocations} invocations per execution environment."
)


def scaled_ms(measured_ms: float, memory_mb: int) -> float:
    """The duration at `memory_mb`, from one measured at a full vCPU."""
    return measured_ms * max(1.0, prices.MB_PER_VCPU / memory_mb)


def billed_ms(duration_ms: float) -> int:
    """The milliseconds Lambda bills for `duration_ms`: rounded up to the billing granularity."""
    granularity = prices.BILLING_GRANULARITY_MS
    return math.ceil(duration_ms / granularity) * granularity


def usd_per_million(
    invoke_ms: float,
    predictions_per_invoke: int,
    init_ms: float,
    memory_mb: int,
    arch: str,
    invocations_per_environment: int,
) -> float:
    """USD per million predictions: compute, requests and amortised init."""
    gb = memory_mb / 1024
    rate = prices.USD_PER_GB_SECOND[arch]
    per_invoke = billed_ms(scaled_ms(invoke_ms, memory_mb)) / 1000 * gb * rate + prices.USD_PER_REQUEST
    if prices.INIT_IS_BILLED:
        init_usd = billed_ms(scaled_ms(init_ms, memory_mb)) / 1000 * gb * rate
        per_invoke += init_usd / invocations_per_environment
    return per_invoke / predictions_per_invoke * 1_000_000


def estimate(scenarios: list[dict[str, Any]], invocations_per_environment: int = 1000) -> dict[str, Any]:
    """Each scenario ({name, invoke_ms, predictions, init_ms}) priced at every size and architecture."""
    rows = []
    for scenario in scenarios:
        for arch in prices.USD_PER_GB_SECOND:
            for memory in prices.MEMORY_SIZES_MB:
                rows.append(
                    {
                        **scenario,
                        "arch": arch,
                        "memory_mb": memory,
                        "usd_per_million": usd_per_million(
                            scenario["invoke_ms"],
                            scenario["predictions"],
                            scenario["init_ms"],
                            memory,
                            arch,
                            invocations_per_environment,
                        ),
                    }
                )
    return {
        "invocations_per_environment": invocations_per_environment,
        "assumptions": ASSUMPTIONS.format(invocations=invocations_per_environment),
        "rows": rows,
    }


def table(result: dict[str, Any]) -> str:
    sizes = prices.MEMORY_SIZES_MB
    lines = [
        "| scenario | arch | measured ms/invoke | predictions/invoke | "
        + " | ".join(f"{size} MB" for size in sizes)
        + " |",
        "|---|---|---:|---:|" + "---:|" * len(sizes),
    ]
    seen: dict[tuple[str, str], dict[int, float]] = {}
    info: dict[str, dict[str, Any]] = {}
    for row in result["rows"]:
        seen.setdefault((row["name"], row["arch"]), {})[row["memory_mb"]] = row["usd_per_million"]
        info[row["name"]] = row
    for (name, arch), by_size in seen.items():
        lines.append(
            f"| {name} | {arch} | {info[name]['invoke_ms']:.2f} | {info[name]['predictions']} | "
            + " | ".join(f"${by_size[size]:.3g}" for size in sizes)
            + " |"
        )
    return "\n".join(lines) + "\n\nUSD per million predictions. " + result["assumptions"]
