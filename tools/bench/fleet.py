"""make bench-fleet: a consumer group's figures, which must not grow with the accounts of its units.

1. Synth of a fleet config (config/fleet.yaml): its time, the pipeline's size and the largest policies, the group's
   consumer template's size. Nothing in them depends on how many accounts the units hold (the config names units,
   not accounts), so one synthesis stands for 1,000 or 10,000 accounts; for comparison, `make bench` gives the
   per-account mode up to its limit (205 accounts a pipeline).
2. The rehearsal of that config on an emulated organization whose units hold N accounts (default 100 and 1,000):
   the wall time of each phase (the organization built, the StackSet rolled out, the group's test step with IAM
   enforced, an account joining) and the peak memory, in a process of its own per N.

    python -m tools.bench.fleet [N ...]
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from toolchain import ROOT

FLEET = ROOT / "config" / "fleet.yaml"
DEFAULT_ACCOUNTS = [100, 1000]
REHEARSAL_TARGET_SECONDS = 600  # the 1,000-account rehearsal, on this project's 2-core machine
SYNTH_TARGET_SECONDS = 10


def synth() -> dict[str, Any]:
    from checks.limits import size
    from checks.templates import policy_documents
    from config import load_config
    from pipeline.app import synthesize

    config = load_config(FLEET)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as outdir:
        built = synthesize(config, Path(outdir))
        seconds = time.perf_counter() - started
        pipeline = built.template_json(built.pipeline)
        groups = built.pipeline.deployables.groups["prod"].stack
        template = groups.templates["branches"]
        largest: dict[str, int] = {}
        for name, document in [
            ("sharing", built.template_json(built.sharing("prod"))),
            ("group template", json.loads(template.read_text())),
        ]:
            for policy in policy_documents(document):
                key = f"{name} {policy.kind.value}"
                largest[key] = max(largest.get(key, 0), size(policy.document))
        return {
            "synth_seconds": round(seconds, 1),
            "pipeline_resources": len(pipeline["Resources"]),
            "pipeline_template_kb": round((Path(outdir) / built.pipeline.template_file).stat().st_size / 1000),
            "group_template_kb": round(template.stat().st_size / 1000),
            "largest_policies": largest,
        }


def rehearse(accounts: int) -> dict[str, Any]:
    """The rehearsal of the fleet config with `accounts` emulated accounts in its group's units."""
    from config import load_config
    from tools.rehearsal.runner import Rehearsal

    config = load_config(FLEET)
    units = len(config.environments[0].consumer_groups[0].organizational_units)
    out = io.StringIO()
    with tempfile.TemporaryDirectory() as outdir:
        rehearsal = Rehearsal(config=config, config_path=str(FLEET), outdir=Path(outdir), approve=True, destroy=False,
                              out=out, accounts_per_unit=max(1, accounts // units))  # fmt: skip
        started = time.perf_counter()
        code = rehearsal.run()
        seconds = time.perf_counter() - started
    phases: dict[str, float] = {}
    for row in rehearsal.rows:
        key = {"organize": "organization", "join": "join"}.get(row.phase, "")
        if row.name.startswith("prod-groups/"):
            key = "StackSet rollout (groups' stack)"
        elif row.name.startswith("Prove-prod-branches"):
            key = "group's test step" + (" (the account that joined)" if "joined" in row.name else "")
        if key:
            phases[key] = round(phases.get(key, 0.0) + row.seconds, 1)
    return {"accounts": accounts, "passed": code == 0, "seconds": round(seconds, 1), "phases": phases,
            "tail": out.getvalue().splitlines()[-3:] if code else []}  # fmt: skip


def main(argv: list[str]) -> int:
    if argv[:1] == ["--synth"]:
        print(json.dumps(synth()))
        return 0
    if argv[:1] == ["--rehearse"]:
        print(json.dumps(rehearse(int(argv[1]))))
        return 0
    sizes = [int(n) for n in argv] or DEFAULT_ACCOUNTS
    figures = _child(["--synth"])
    verdict = "meets" if figures["synth_seconds"] < SYNTH_TARGET_SECONDS else "MISSES"
    print(f"synth of {FLEET.relative_to(ROOT)}: {figures['synth_seconds']} s ({verdict} the {SYNTH_TARGET_SECONDS} s "
          f"target), peak {figures['peak_mb']} MB; pipeline {figures['pipeline_resources']} resources, "
          f"{figures['pipeline_template_kb']} KB; the group's template {figures['group_template_kb']} KB")  # fmt: skip
    print("  largest policies (characters): " + ", ".join(f"{k} {v:,}" for k, v in figures["largest_policies"].items()))
    print("  the same for any number of accounts in the units: the config names units, and no template, policy or "
          "pipeline action lists an account of a group")  # fmt: skip
    failed = False
    for accounts in sizes:
        row = _child(["--rehearse", str(accounts)])
        verdict = "meets" if row["seconds"] < REHEARSAL_TARGET_SECONDS else "MISSES"
        phases = ", ".join(f"{k} {v} s" for k, v in row["phases"].items())
        result = "passed" if row["passed"] else "FAILED"
        print(f"rehearsal with {row['accounts']} accounts: {result} in {row['seconds']} s ({verdict} the "
              f"{REHEARSAL_TARGET_SECONDS} s target), peak {row['peak_mb']} MB; {phases}")  # fmt: skip
        for line in row["tail"]:
            print(f"    {line}")
        failed |= not row["passed"]
    return 1 if failed else 0


def _child(args: list[str]) -> dict[str, Any]:
    """One measurement in a process of its own (its peak memory its own), under python -O as cdk.json runs the app."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run([sys.executable, "-O", "-m", "tools.bench.fleet", *args], capture_output=True, text=True,
                            check=False)  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"error: {' '.join(args)}: {result.stderr.strip().splitlines()[-1:]}")
    row: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    row["peak_mb"] = round(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024)
    return row


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
