"""make bench: synthesize generated configs of N consumers (default 1, 10, 100, 1000), each in its own
process, and print and write the figures (reports/bench.md, reports/bench.png).

    python -m tools.bench [N ...]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

REPORTS = Path(__file__).resolve().parents[2] / "reports"
TARGET_SECONDS = 60
COLUMNS = ("consumers", "synth s", "peak MB", "pipeline resources", "most actions", "stages", "largest policies")


def main(argv: list[str]) -> int:
    sizes = [int(n) for n in argv] or [1, 10, 100, 1000]
    rows = []
    print(" | ".join(COLUMNS))
    for size in sizes:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result = subprocess.run(
            [sys.executable, "-m", "tools.bench.measure", str(size)], capture_output=True, text=True, check=False
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
    slowest = rows[-1]
    verdict = "meets" if slowest["synth_seconds"] < TARGET_SECONDS else "MISSES"
    print(f"{slowest['consumers']} consumers: {slowest['synth_seconds']} s, {verdict} the {TARGET_SECONDS} s target")
    print(f"wrote {REPORTS / 'bench.md'} and {REPORTS / 'bench.png'}")
    return 0


def _line(row: dict) -> str:
    policies = ", ".join(f"{k} {v:,}" for k, v in sorted(row["largest_policies"].items()))
    return " | ".join(
        str(v)
        for v in (
            row["consumers"],
            row["synth_seconds"],
            row["peak_mb"],
            row["pipeline_resources"],
            row["max_actions_in_a_stage"],
            row["stages"],
            policies,
        )
    )


def _markdown(rows: list[dict]) -> str:
    lines = ["# Synthesis by number of consumers", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + _line(row) + " |" for row in rows]
    lines += [
        "",
        "Consumers split over two environments, granted by organization. Quotas: 500 resources per stack, 50 "
        "actions per pipeline stage, 50 stages; policy sizes in characters (bucket 20,480, key 32,768, "
        "trust 2,048, managed 6,144).",
        "",
    ]
    return "\n".join(lines)


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
