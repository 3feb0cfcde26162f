"""PNG figures from a results document: cold start, latency, throughput, memory and cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, NullFormatter

PHASE_COLOURS = {
    "interpreter": ("interpreter start", "#9e9e9e"),
    "runtime": ("Lambda runtime client", "#cfcfcf"),
    "imports": ("imports", "#4c72b0"),
    "model_load": ("model load (session)", "#dd8452"),
    "warmup": ("warm-up run", "#c44e52"),
    "first_invocation": ("first invocation", "#55a868"),
}
VARIANT_COLOURS = {
    "onnx-lambda": "#4c72b0",
    "handwritten": "#55a868",
    "floor": "#55a868",
    "bare-asgi": "#8172b3",
    "tutorial": "#c44e52",
    "per-record": "#dd8452",
}
OURS = ("events", "http", "universal-sqs", "universal-http")


def _style(ax: Any) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="x", alpha=0.3)


def coldstart(result: dict[str, Any], path: Path) -> None:
    """Stacked horizontal bars: each scenario's median phases, total at the end."""
    scenarios = list(result["scenarios"].items())[::-1]
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(scenarios) + 1.6))
    for y, (_key, row) in enumerate(scenarios):
        left = 0.0
        for phase, (label, colour) in PHASE_COLOURS.items():
            ax.barh(y, row[phase], left=left, color=colour, label=label if y == 0 else None, height=0.6)
            left += row[phase]
        ax.text(left + 5, y, f"{row['total']:.0f} ms", va="center", fontsize=9)
    ax.set_yticks(range(len(scenarios)))
    ax.set_yticklabels(
        [row["label"] for _, row in scenarios],
        fontsize=9,
    )
    for tick, (key, _) in zip(ax.get_yticklabels(), scenarios, strict=True):
        if key in OURS:
            tick.set_fontweight("bold")
    ax.set_xlabel("milliseconds from spawn to first result (median of fresh processes)")
    ax.set_title(f"Cold start, model {result['model']}: {result['runs']} interleaved runs per scenario")
    ax.set_xlim(0, max(row["total"] for _, row in scenarios) * 1.15)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    _style(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def latency(result: dict[str, Any], path: Path) -> None:
    """Box plots of warm latency per path and variant, one panel per model and row count."""
    panels = sorted({(c["model"], c["rows"]) for c in result["cases"]}, key=lambda p: (p[0] != "iris", p))
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.9 * len(panels)), squeeze=False)
    for ax, (model, rows) in zip(axes[:, 0], panels, strict=True):
        cases = [c for c in result["cases"] if c["model"] == model and c["rows"] == rows][::-1]
        data = [c["samples_us"] for c in cases]
        box = ax.boxplot(
            data,
            vert=False,
            whis=(1, 99),
            showfliers=False,
            patch_artist=True,
            widths=0.6,
            medianprops={"color": "black"},
        )
        for patch, case in zip(box["boxes"], cases, strict=True):
            patch.set_facecolor(VARIANT_COLOURS.get(case["variant"], "#cccccc"))
            patch.set_alpha(0.8)
        ax.set_yticks(range(1, len(cases) + 1))
        ax.set_yticklabels([f"{c['path']}  {c['variant']}" for c in cases], fontsize=8)
        for case_y, case in enumerate(cases, start=1):
            ax.text(
                case["p99_us"],
                case_y,
                f"  p50 {_us(case['p50_us'])}",
                va="center",
                fontsize=7,
                color="#333333",
            )
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: _us(value)))
        ax.xaxis.set_minor_formatter(NullFormatter())
        low = min(min(c["samples_us"]) for c in cases)
        ax.set_xlim(low / 1.3, max(c["p99_us"] for c in cases) * 3)
        ax.set_title(f"{model}, {rows} row{'s' if rows > 1 else ''} per request", fontsize=10, loc="left")
        _style(ax)
    axes[-1, 0].set_xlabel("warm latency per invocation (log scale; box p25-p75, whiskers p1-p99)")
    fig.suptitle("Warm latency by entry path: onnx-lambda against hand-written floors and the tutorial app")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _us(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1e6:.2g} s"
    if value >= 1000:
        return f"{value / 1000:.3g} ms"
    return f"{value:.3g} µs"


def throughput_memory(result: dict[str, Any], cold: dict[str, Any] | None, path: Path) -> None:
    """Rows/s per variant, and peak RSS against the S3 object's size."""
    rows = result["results"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    labels, values, colours = [], [], []
    for row in rows:
        what = "SQS 10 x 100" if row["scenario"] == "sqs" else f"S3 CSV {row['rows']:,}"
        labels.append(f"{what}\n{row['variant']}")
        values.append(row["rows_per_s"])
        colours.append(VARIANT_COLOURS.get(row["variant"], "#cccccc"))
    positions = list(range(len(values)))[::-1]
    bars = left.barh(positions, values, color=colours)
    for bar, value in zip(bars, values, strict=True):
        left.text(
            bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {value:,.0f}", va="center", fontsize=8
        )
    left.set_yticks(positions)
    left.set_yticklabels(labels, fontsize=8)
    left.set_xlabel("rows per second (warm, median; log scale)")
    left.set_xscale("log")
    left.set_xlim(min(values) / 2, max(values) * 3)
    left.set_title("Batch throughput, iris", fontsize=10, loc="left")
    _style(left)
    points = sorted((p["rows"], p["before_mb"], p["peak_mb"]) for p in result["memory"])
    sizes = [p[0] for p in points]
    right.plot(
        sizes,
        [p[2] for p in points],
        marker="o",
        color=VARIANT_COLOURS["onnx-lambda"],
        label="peak while scoring",
    )
    right.plot(
        sizes,
        [p[1] for p in points],
        marker="o",
        linestyle=":",
        color="#9e9e9e",
        label="before the invocation",
    )
    for size, _before, peak in points:
        right.annotate(
            f"{peak:.0f} MB", (size, peak), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8
        )
    if cold is not None:
        floor = cold["scenarios"].get("floor-ort", {}).get("max_rss_mb")
        if floor:
            right.axhline(
                floor,
                color=VARIANT_COLOURS["floor"],
                linestyle="--",
                label=f"python + numpy + onnxruntime + session: {floor:.0f} MB",
            )
    right.set_xscale("log")
    right.set_xticks(sizes)
    right.set_xticklabels([f"{size:,}" for size in sizes])
    right.set_ylim(0, max(p[2] for p in points) * 1.25)
    right.set_xlabel("CSV rows in the S3 object (log scale)")
    right.set_ylabel("RSS of the function's process, MB")
    right.set_title("onnx-lambda memory against S3 object size (streamed)", fontsize=10, loc="left")
    right.legend(fontsize=8, frameon=False, loc="lower right")
    right.grid(alpha=0.3)
    right.spines["top"].set_visible(False)
    right.spines["right"].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cost(result: dict[str, Any], path: Path) -> None:
    """USD per million predictions against memory size, x86_64 solid and arm64 dashed."""
    fig, ax = plt.subplots(figsize=(10, 5))
    names = list(dict.fromkeys(row["name"] for row in result["rows"]))
    colours = plt.get_cmap("tab10")
    labelled: list[float] = []  # values already written at the right edge; close ones would overlap
    for index, name in enumerate(names):
        for arch, style in (("x86_64", "-"), ("arm64", "--")):
            points = sorted(
                (row["memory_mb"], row["usd_per_million"])
                for row in result["rows"]
                if row["name"] == name and row["arch"] == arch
            )
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                style,
                marker="o",
                color=colours(index),
                label=f"{name} ({arch})",
            )
            last = points[-1][1]
            if arch == "x86_64" and all(abs(last / other - 1) > 0.25 for other in labelled):
                labelled.append(last)
                ax.annotate(
                    f"${points[-1][1]:.3g}",
                    points[-1],
                    textcoords="offset points",
                    xytext=(6, 0),
                    va="center",
                    fontsize=8,
                )
    sizes = sorted({row["memory_mb"] for row in result["rows"]})
    ax.set_xticks(sizes)
    ax.set_xticklabels([f"{size} MB" for size in sizes])
    ax.set_xlim(sizes[0] - 150, sizes[-1] + 450)
    ax.set_yscale("log")
    ax.set_ylabel("USD per million predictions (log scale)")
    ax.set_xlabel("Lambda memory size")
    ax.set_title("Estimated cost per million predictions, us-east-1")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(alpha=0.3, which="both")
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    fig.text(0.01, 0.01, _wrap(result["assumptions"], 150), fontsize=6.5, color="#555555", va="bottom")
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
