"""The daily proof: the pipeline's test step, run every day on a schedule (EventBridge Scheduler starts this CodeBuild
project in the tooling account) against what each environment has deployed, so that drift shows within a day: a
bucket policy edited by hand, an SCP or RCP added, a key disabled, a grant widened out of band.

Each wave of the environment is proven as its test step proves it (prove_consumers.main, the same checks: each
consumer gets what it is given, at its access, and is refused the rest; a grant that has ended must be refused). The
result is kept in the access records (proof-results/ENV.json, which `make doctor` shows), and a failure, with the
consumers and the checks that failed, is published to the pipeline's notification topic.

Runs in CodeBuild with only boto3 installed, from this folder (an asset of the pipeline stack)."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

try:  # in the project (tests, the rehearsal)
    from pipeline_steps import prove_consumers, prove_group, record_deployed
except ImportError:  # in CodeBuild, run from this folder alone
    import prove_consumers  # type: ignore[import-not-found,no-redef]
    import prove_group  # type: ignore[import-not-found,no-redef]
    import record_deployed  # type: ignore[import-not-found,no-redef]

ENVIRONMENT_VARIABLE = "PROOF_ENVIRONMENT"
RECORDS_VARIABLE = "ACCESS_RECORDS"  # the records bucket (pipeline_steps/record_deployed.py)
TOPIC_VARIABLE = "PROOF_TOPIC"  # the pipeline's notification topic
# The environment's consumer groups (a JSON list of prove_group.Group): what their stack sets have deployed now is
# what is proven, as their test steps prove it.
GROUPS_VARIABLE = "PROOF_GROUPS"
COMMAND = "python3 daily_proof.py"
# SNS takes a subject of up to 100 characters and a message of up to 256 KB: the message keeps the failing lines.
SUBJECT_LIMIT = 100
MESSAGE_LINES = 200


def result_key(environment: str) -> str:
    return f"proof-results/{environment}.json"


def main(
    environ: Mapping[str, str] | None = None,
    *,
    invoke: Any = None,
    tasks: Any = None,
    s3: Any = None,
    sns: Any = None,
    instances: Any = None,
    out: Any = sys.stdout,
) -> int:
    """invoke, tasks, instances: the test steps' own (prove_consumers, prove_group), where given."""
    environ = os.environ if environ is None else environ
    environment, bucket = environ[ENVIRONMENT_VARIABLE], environ[RECORDS_VARIABLE]
    if s3 is None or sns is None:
        import boto3

        s3, sns = s3 or boto3.client("s3"), sns or boto3.client("sns")
    # What the environment deployed, as its last test step recorded it once every consumer passed: a change that is
    # not deployed yet (waiting at an approval) is not proven before it is.
    groups = json.loads(environ.get(GROUPS_VARIABLE) or "[]")
    try:
        record = s3.get_object(Bucket=bucket, Key=record_deployed.waves_key(environment))
        waves, commit = json.loads(record["Body"].read()), record.get("Metadata", {}).get("commit", "")
    except s3.exceptions.NoSuchKey:
        if not groups:
            print(f"daily proof of {environment}: nothing recorded as deployed yet, nothing to prove", file=out)
            return 0
        waves, commit = [], ""
    printed = io.StringIO()
    codes = []
    for encoded in waves:
        wave_environ = {**environ, prove_consumers.WAVE_VARIABLE: encoded}
        arguments: dict[str, Any] = {"out": printed, "tasks": tasks}
        if invoke is not None:
            arguments["invoke"] = invoke
        codes.append(prove_consumers.main(wave_environ, **arguments))
    # Each consumer group: the accounts its stack set lists now (a new account of its units included).
    for encoded in groups:
        group_arguments: dict[str, Any] = {"out": printed}
        if invoke is not None:
            group_arguments["invoke"] = invoke
        if instances is not None:
            group_arguments["instances"] = instances
        codes.append(prove_group.main({prove_group.GROUP_VARIABLE: json.dumps(encoded)}, **group_arguments))
    ok = all(code == 0 for code in codes)
    lines = [line for line in printed.getvalue().splitlines() if line.strip()]
    failing = [line for line in lines if line.startswith("FAIL")]
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = {
        "environment": environment,
        "ok": ok,
        "at": at,
        "commit": commit,
        "failing": failing,
        "lines": lines[-MESSAGE_LINES:],
    }
    s3.put_object(
        Bucket=bucket,
        Key=result_key(environment),
        Body=json.dumps(result, indent=1).encode(),
        ContentType="application/json",
    )
    for line in lines:
        print(line, file=out)
    if not ok:
        subject = f"Daily proof of {environment} FAILED: {len(failing)} consumer proof(s) failed"
        sns.publish(
            TopicArn=environ[TOPIC_VARIABLE],
            Subject=subject[:SUBJECT_LIMIT],
            Message="\n".join(
                [
                    f"The daily proof of {environment} at {at} (deployed commit {commit[:12]}) found drift: what a "
                    "consumer reaches is not what the config gives it. Find the change in CloudTrail "
                    "(PutBucketPolicy, PutKeyPolicy, PutResourcePolicy, UpdateAssumeRolePolicy, DisableKey, an SCP "
                    "or RCP) and run the pipeline again: it re-applies the project's own policies.",
                    "",
                    *lines[-MESSAGE_LINES:],
                ]
            ),
        )
    print(f"daily proof of {environment}: {'passed' if ok else 'FAILED'} ({at})", file=out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
