"""make bench-datasets: how far datasets x consumers go in one environment. For each (datasets, consumers) it
synthesizes a generated config in which every consumer gets every dataset (the largest grants: each of the
datasets' bucket, key and table policies names every consumer, and each consumer's policy and environment name
every dataset), and prints the largest of each policy and value AWS bounds, or the one line the app refuses the
config with. Half the datasets share their table by its own resource policy, half through the source roles.

    python -m tools.bench.datasets [DATASETSxCONSUMERS ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from checks.limits import size
from checks.templates import PolicyKind, policy_documents
from config import quotas as aws
from tools.bench.configs import header

# Both edges of each limit the grid crosses, on this project's names (project "bench", environment "env0").
DEFAULT = ["1x1", "10x10", "10x50", "11x1", "12x1", "20x1", "1x100", "1x206"]
LIMITS = {
    "bucket policy": aws.S3_BUCKET_POLICY_CHARACTERS,
    "key policy": aws.KMS_KEY_POLICY_CHARACTERS,
    "table policy": aws.DYNAMODB_RESOURCE_POLICY_CHARACTERS,
    "source role inline": aws.IAM_ROLE_INLINE_POLICIES_CHARACTERS,
    "trust": aws.IAM_TRUST_POLICY_CHARACTERS,
    "consumer policy": aws.IAM_MANAGED_POLICY_CHARACTERS,
    "lambda environment": aws.LAMBDA_ENVIRONMENT_BYTES,
    "sharing resources": aws.CLOUDFORMATION_RESOURCES,
}


def config_with(datasets: int, consumers: int, *, organization: bool = False) -> str:
    names = [f"d{i}" for i in range(datasets)]
    access = ", ".join(f"{name}: {'read-write' if i % 2 else 'read'}" for i, name in enumerate(names))
    lines = [
        *header(organization=organization),
        "  - name: env0",
        '    source: {account: "200000000000", region: eu-west-1}',
        "    datasets:",
        *(
            f"      - {{name: {name}, bucket: {{prefix: {name}/}}, table: {{access: "
            f"{'resource-policy' if i % 2 else 'role'}}}}}"
            for i, name in enumerate(names)
        ),
        "    consumers:",
        *(
            f'      - {{name: c{i}, account: "{300000000000 + i:012d}", region: eu-west-1, grants: {{{access}}}}}'
            for i in range(consumers)
        ),
    ]
    return "\n".join(lines) + "\n"


def measure(datasets: int, consumers: int) -> dict[str, Any]:
    from config.loader import ConfigError, parse_config
    from pipeline.app import synthesize
    from pipeline.capacity import PipelineTooLarge

    row: dict[str, Any] = {"datasets": datasets, "consumers": consumers}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as outdir:
        try:
            synthesized = synthesize(parse_config(config_with(datasets, consumers)), Path(outdir))
        except (ConfigError, PipelineTooLarge) as error:
            return {**row, "seconds": round(time.perf_counter() - started, 1), "rejected": str(error)}
        except RuntimeError as error:  # the CDK's validation report: a quota finding
            found = [line.strip() for line in str(error).splitlines() if "allows" in line or "AWS allows" in line]
            return {**row, "seconds": round(time.perf_counter() - started, 1), "rejected": (found or [str(error)])[0]}
        sharing = synthesized.template_json(synthesized.sharing("env0"))
        consumer = synthesized.template_json(synthesized.consumer("env0", 0))
    largest: dict[str, int] = {}

    def keep(label: str, value: int) -> None:
        largest[label] = max(largest.get(label, 0), value)

    for policy in policy_documents(sharing):
        label = {
            PolicyKind.BUCKET: "bucket policy",
            PolicyKind.ACCESS_POINT: "access point policy",
            PolicyKind.KEY: "key policy",
            PolicyKind.TABLE: "table policy",
            PolicyKind.TRUST: "trust",
        }.get(policy.kind)
        if label:
            keep(label, size(policy.document))
    inline: dict[str, int] = {}
    for resource in sharing["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy":
            for role in resource["Properties"]["Roles"]:
                inline[str(role)] = inline.get(str(role), 0) + size(resource["Properties"]["PolicyDocument"])
    keep("source role inline", max(inline.values(), default=0))
    for policy in policy_documents(consumer):
        if policy.kind is PolicyKind.MANAGED:
            keep("consumer policy", size(policy.document))
    for resource in consumer["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function" and "Variables" in resource["Properties"].get("Environment", {}):
            variables = resource["Properties"]["Environment"]["Variables"]
            keep("lambda environment", len(json.dumps(variables, separators=(",", ":"))))
    keep("sharing resources", len(sharing["Resources"]))
    return {**row, "seconds": round(time.perf_counter() - started, 1), "largest": largest}


def main(argv: list[str]) -> int:
    grid = [tuple(int(n) for n in cell.split("x")) for cell in (argv or DEFAULT)]
    print("datasets x consumers: " + ", ".join(f"{label} (AWS {limit:,})" for label, limit in LIMITS.items()))
    for datasets, consumers in grid:
        result = subprocess.run(
            [sys.executable, "-O", "-m", "tools.bench.datasets", "--one", str(datasets), str(consumers)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            print(f"{datasets} x {consumers}: failed: {result.stderr.strip().splitlines()[-1:]}")
            return 1
        row = json.loads(result.stdout.strip().splitlines()[-1])
        head = f"{datasets:>3} x {consumers:<4} {row['seconds']:>5} s  "
        if "rejected" in row:
            print(head + f"refused: {row['rejected'][:300]}")
            continue
        print(head + ", ".join(f"{label} {row['largest'].get(label, 0):,}" for label in LIMITS))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(measure(int(sys.argv[2]), int(sys.argv[3]))))
    else:
        sys.exit(main(sys.argv[1:]))
