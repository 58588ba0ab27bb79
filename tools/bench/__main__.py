"""make bench: synthesize generated configs of N consumers (default 1, 10, 100, 205, 206, 1000), each in its own
process, and print and write the figures (reports/bench.md, reports/bench.png). A config that one pipeline
cannot hold is reported with the reason the app gives, and how long it took to say so.

Each synthesis runs under `python -O`, as cdk.json runs the app: jsii skips its Python-side type checks, which
cost a quarter of the construction time (the JavaScript side still checks every call).

    python -m tools.bench [N ...]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from toolchain import ROOT

REPORTS = ROOT / "reports"
TARGET_SECONDS = 60
COLUMNS = (
    "consumers",
    "synth s",
    "peak MB",
    "pipeline resources",
    "pipeline template KB",
    "most actions",
    "stages",
    "largest policies",
)
# Every consumer account adds about 95 characters to the artifact bucket's policy (20,480): 205 fit here.
DEFAULT_SIZES = [1, 10, 100, 205, 206, 1000]


def main(argv: list[str]) -> int:
    sizes = [int(n) for n in argv] or DEFAULT_SIZES
    rows = []
    print(" | ".join(COLUMNS))
    for size in sizes:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result = subprocess.run(
            [sys.executable, "-O", "-m", "tools.bench.measure", str(size)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            print(f"{size}: synth failed: {result.stderr.strip().splitlines()[-1:]}")
            return 1
        row = json.loads(result.stdout.strip().splitlines()[-1])
        # The largest single process (Python or jsii's Node.js) of that synthesis.
        row["peak_mb"] = round(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024)
        rows.append(row)
        print(_line(row), flush=True)
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "bench.md").write_text(_markdown(rows))
    _plot(rows, REPORTS / "bench.png")
    for row in rows:
        verdict = "meets" if row["synth_seconds"] < TARGET_SECONDS else "MISSES"
        outcome = "rejected" if "rejected" in row else "synthesized"
        seconds = row["synth_seconds"]
        print(f"{row['consumers']} consumers: {outcome} in {seconds} s, {verdict} the {TARGET_SECONDS} s target")
    print(f"wrote {REPORTS / 'bench.md'} and {REPORTS / 'bench.png'}")
    return 0


def _line(row: dict[str, Any]) -> str:
    if "rejected" in row:
        first = (row["consumers"], row["synth_seconds"], row["peak_mb"])
        return " | ".join([*(str(v) for v in first), f"rejected: {row['rejected']}"])
    policies = ", ".join(f"{k} {v:,}" for k, v in sorted(row["largest_policies"].items()))
    return " | ".join(
        str(v)
        for v in (
            row["consumers"],
            row["synth_seconds"],
            row["peak_mb"],
            row["pipeline_resources"],
            row["pipeline_template_kb"],
            row["max_actions_in_a_stage"],
            row["stages"],
            policies,
        )
    )


def _markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["# Synthesis by number of consumers", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + _line(row) + " |" for row in rows]
    lines += [
        "",
        "Consumers split over two environments, granted by organization; synth under `python -O` as cdk.json "
        "runs it. Quotas: 500 resources per stack, 1,000 KB per template, 50 actions per pipeline stage, 50 "
        "stages; policy sizes in characters (bucket 20,480, key 32,768, trust 2,048, managed 6,144). The "
        "artifact bucket and key policies are the pipeline's own, which CDK Pipelines grows by one deployment "
        "role per consumer account.",
        "",
    ]
    return "\n".join(lines)


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in rows if "rejected" not in row]
    consumers = [row["consumers"] for row in rows]
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(10, 4))
    time_axis.plot(consumers, [row["synth_seconds"] for row in rows], marker="o")
    time_axis.axhline(TARGET_SECONDS, color="red", linestyle="--", label=f"target {TARGET_SECONDS} s")
    time_axis.set(xscale="log", xlabel="consumer accounts", ylabel="synth wall time (s)", title="Synth time")
    time_axis.legend()
    memory_axis.plot(consumers, [row["peak_mb"] for row in rows], marker="o", color="green")
    memory_axis.set(xscale="log", xlabel="consumer accounts", ylabel="peak RSS (MB)", title="Peak memory")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
