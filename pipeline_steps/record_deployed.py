"""After an environment's last test step passes: the config it deployed, kept in the tooling account's access records
(deployed/ENV.yaml, with the commit), so that the next synth shows at the approval gate who gains or loses which
dataset since what is deployed (tools/access_diff.py --records).

Runs in CodeBuild with only boto3 installed, in the test step's project, after the proof: a failed proof records
nothing, and the next approval then shows the changes since the last environment that passed."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Set at synth (pipeline/proof_step.py): the records bucket, the environment, the config's path in the repository,
# and the environment's waves (Wave.encode), one a variable (as CodeBuild has refused a value past 4,096 characters),
# which the daily proof then proves: what is deployed.
RECORDS_VARIABLE = "ACCESS_RECORDS"
ENVIRONMENT_VARIABLE = "ACCESS_ENVIRONMENT"
CONFIG_VARIABLE = "ACCESS_CONFIG"
COMMIT_VARIABLE = "DEPLOYED_COMMIT"  # set by the rehearsal; in CodeBuild, its own variable
WAVE_PREFIX = "DEPLOYED_WAVE_"
COMMAND = "python3 pipeline_steps/record_deployed.py"


def record_key(environment: str) -> str:
    return f"deployed/{environment}.yaml"


def waves_key(environment: str) -> str:
    return f"deployed/{environment}.waves.json"


def wave_variables(encoded: list[str]) -> dict[str, str]:
    return {f"{WAVE_PREFIX}{number}": wave for number, wave in enumerate(encoded, start=1)}


def waves_of(environ: Mapping[str, str]) -> list[str]:
    """The waves, in their order."""
    numbered = [(int(k.removeprefix(WAVE_PREFIX)), v) for k, v in environ.items() if k.startswith(WAVE_PREFIX)]
    return [wave for _, wave in sorted(numbered)]


def main(environ: Mapping[str, str] | None = None, s3: Any = None, out: Any = sys.stdout) -> int:
    environ = os.environ if environ is None else environ
    bucket, environment = environ[RECORDS_VARIABLE], environ[ENVIRONMENT_VARIABLE]
    config = Path(environ[CONFIG_VARIABLE])
    # The commit CodeBuild was given by the pipeline's source action (its documentation says it "may not always be
    # available" in a pipeline's build: then the record says unknown, and the approval's heading says so).
    commit = environ.get(COMMIT_VARIABLE) or environ.get("CODEBUILD_RESOLVED_SOURCE_VERSION") or "unknown"
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    s3.put_object(
        Bucket=bucket,
        Key=record_key(environment),
        Body=config.read_bytes(),
        Metadata={"commit": commit},
        ContentType="text/yaml",
    )
    s3.put_object(
        Bucket=bucket,
        Key=waves_key(environment),
        Body=json.dumps(waves_of(environ)).encode(),
        Metadata={"commit": commit},
        ContentType="application/json",
    )
    print(f"recorded {config} (commit {commit[:12]}) as what {environment} has deployed", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
