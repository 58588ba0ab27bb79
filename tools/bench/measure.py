"""Synthesize one generated config of N consumers and print its figures as JSON (one process per N, so that
peak memory is this synthesis's own).

    python -m tools.bench.measure N
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from config.loader import parse_config
from stages.policy_sizes import size

ENVIRONMENTS = 2  # dev and prod, consumers split between them


def config_with(consumers: int) -> str:
    """Consumers split over two environments, granted by organization (the mode meant for many accounts)."""
    lines = [
        "project: bench",
        'tooling: {account: "111111111111", region: eu-west-1}',
        "repository: {codecommit_repository: data-sharing}",
        "organization_id: o-benchmark01",
        "consumer_image: public.ecr.aws/example/consumer:1.0",
        "environments:",
    ]
    for e in range(ENVIRONMENTS):
        count = consumers // ENVIRONMENTS + (1 if e < consumers % ENVIRONMENTS else 0)
        if count == 0:
            continue
        lines += [f"  - name: env{e}", f'    source: {{account: "{200000000000 + e:012d}", region: eu-west-1}}']
        lines.append("    consumers:")
        lines += [
            f'      - {{name: c{i}, account: "{300000000000 + e * 10000 + i:012d}", region: eu-west-1}}'
            for i in range(count)
        ]
    return "\n".join(lines) + "\n"


def measure(consumers: int) -> dict:
    from stacks.pipeline_stack import PipelineTooLarge
    from tools.assembly import synthesize

    config = parse_config(config_with(consumers))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as outdir:
        try:
            synthesized = synthesize(config, Path(outdir))
        except PipelineTooLarge as error:
            seconds = round(time.perf_counter() - started, 1)
            return {"consumers": consumers, "synth_seconds": seconds, "rejected": str(error)}
        seconds = time.perf_counter() - started
        pipeline = synthesized.template_json(synthesized.pipeline)
        template_kb = round((Path(outdir) / synthesized.pipeline.template_file).stat().st_size / 1000)
        (codepipeline,) = [r for r in pipeline["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
        stages = codepipeline["Properties"]["Stages"]
        largest: dict[str, int] = {}
        for kind, document in _policies(pipeline):
            if kind in ("bucket", "key"):
                largest[f"artifact {kind}"] = max(largest.get(f"artifact {kind}", 0), size(document))
        for environment in config.environments:
            templates = [synthesized.template_json(synthesized.sharing(environment.name))]
            templates.append(synthesized.template_json(synthesized.consumer(environment.name, 0)))
            for template in templates:
                for kind, document in _policies(template):
                    largest[kind] = max(largest.get(kind, 0), size(document))
    return {
        "consumers": consumers,
        "synth_seconds": round(seconds, 1),
        "pipeline_resources": len(pipeline["Resources"]),
        "pipeline_template_kb": template_kb,
        "max_actions_in_a_stage": max(len(stage["Actions"]) for stage in stages),
        "stages": len(stages),
        "largest_policies": largest,
    }


def _policies(template: dict) -> list[tuple[str, dict]]:
    found = []
    for item in template["Resources"].values():
        properties = item.get("Properties", {})
        kind = item["Type"]
        if kind == "AWS::S3::BucketPolicy":
            found.append(("bucket", properties["PolicyDocument"]))
        elif kind == "AWS::KMS::Key":
            found.append(("key", properties["KeyPolicy"]))
        elif kind == "AWS::IAM::Role":
            found.append(("trust", properties["AssumeRolePolicyDocument"]))
        elif kind == "AWS::IAM::ManagedPolicy":
            found.append(("managed", properties["PolicyDocument"]))
    return found


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
