"""After an environment's last test step passes: the config it deployed, kept in the tooling account's access records
(deployed/ENV.yaml, with the commit), so that the next synth shows at the approval gate who gains or loses which
dataset since what is deployed (tools/access_diff.py --records).

Runs in CodeBuild with only boto3 installed, in the test step's project, after the proof: a failed proof records
nothing, and the next approval then shows the changes since the last environment that passed."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Set at synth (pipeline/proof_step.py): the records bucket, the environment, the config's path in the repository.
RECORDS_VARIABLE = "ACCESS_RECORDS"
ENVIRONMENT_VARIABLE = "ACCESS_ENVIRONMENT"
CONFIG_VARIABLE = "ACCESS_CONFIG"
COMMAND = "python3 pipeline_steps/record_deployed.py"


def record_key(environment: str) -> str:
    return f"deployed/{environment}.yaml"


def main(environ: Mapping[str, str] | None = None, s3: Any = None, out: Any = sys.stdout) -> int:
    environ = os.environ if environ is None else environ
    bucket, environment = environ[RECORDS_VARIABLE], environ[ENVIRONMENT_VARIABLE]
    config = Path(environ[CONFIG_VARIABLE])
    # CodeBuild's commit of the source it was given (the pipeline's source action's).
    commit = environ.get("CODEBUILD_RESOLVED_SOURCE_VERSION") or "unknown"
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
    print(f"recorded {config} (commit {commit[:12]}) as what {environment} has deployed", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
