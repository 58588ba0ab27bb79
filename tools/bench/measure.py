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
from typing import Any

from checks.limits import size
from checks.templates import PolicyKind, policy_documents
from config.loader import parse_config
from tools.bench.configs import config_with


def measure(consumers: int) -> dict[str, Any]:
    from pipeline.app import synthesize
    from pipeline.capacity import PipelineTooLarge

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


# The policies of the benchmark's table, by the label it prints.
LABELS = {
    PolicyKind.BUCKET: "bucket",
    PolicyKind.KEY: "key",
    PolicyKind.TRUST: "trust",
    PolicyKind.MANAGED: "managed",
}


def _policies(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(LABELS[p.kind], p.document) for p in policy_documents(template) if p.kind in LABELS]


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
