"""The pipeline's test step (the proof): invoke every consumer's function in self-check mode and fail unless
each one proves it can list and read the shared bucket and reach the shared table.

Runs in CodeBuild with only boto3 installed. It learns the consumers from PROOF_TARGETS (set at synth)
and each consumer's function name and proof role from the consumer stack's outputs (env_from_cfn_outputs).
It may do nothing but assume those proof roles, each of which may only invoke its own function.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

TARGETS_VARIABLE = "PROOF_TARGETS"
# What the step runs, from the root of the repository: the pipeline's wiring and the rehearsal both use it.
COMMAND = "python3 pipeline_steps/prove_consumers.py"


@dataclass(frozen=True)
class ProofTarget:
    consumer: str
    account: str
    region: str
    function_variable: str
    role_variable: str


@dataclass(frozen=True)
class ConsumerProof:
    consumer: str
    ok: bool
    failures: tuple[str, ...]


# (function name, region, role ARN, payload) -> the function's response payload
Invoker = Callable[[str, str, str, dict[str, Any]], dict[str, Any]]


def targets_from(environ: Mapping[str, str]) -> list[ProofTarget]:
    return [ProofTarget(**item) for item in json.loads(environ[TARGETS_VARIABLE])]


def encode_targets(targets: list[ProofTarget]) -> str:
    return json.dumps([target.__dict__ for target in targets], separators=(",", ":"))


def invoke_with_boto3(function_name: str, region: str, role_arn: str, payload: dict[str, Any]) -> dict[str, Any]:
    import boto3

    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=role_arn, RoleSessionName="pipeline-consumer-proof"
    )["Credentials"]
    client = boto3.client(
        "lambda",
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    response = client.invoke(FunctionName=function_name, Payload=json.dumps(payload).encode())
    body = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        message = body.get("errorMessage") if isinstance(body, dict) else body
        raise RuntimeError(f"function error: {message}")
    if not isinstance(body, dict):
        raise RuntimeError(f"function returned {type(body).__name__}, not an object")
    return body


def prove(targets: list[ProofTarget], environ: Mapping[str, str], invoke: Invoker) -> list[ConsumerProof]:
    proofs = []
    for target in targets:
        missing = [name for name in (target.function_variable, target.role_variable) if not environ.get(name)]
        if missing:
            proofs.append(ConsumerProof(target.consumer, False, (f"stack outputs missing: {', '.join(missing)}",)))
            continue
        try:
            result = invoke(
                environ[target.function_variable],
                target.region,
                environ[target.role_variable],
                {"action": "self-check"},
            )
        except Exception as error:  # any failure to invoke is a failed check, reported by consumer
            proofs.append(ConsumerProof(target.consumer, False, (f"invoke failed: {error}",)))
            continue
        failures = tuple(f"{item['name']}: {item['detail']}" for item in result.get("checks", []) if not item.get("ok"))
        ok = bool(result.get("ok")) and not failures
        proofs.append(ConsumerProof(target.consumer, ok, failures or (() if ok else ("self-check reported failure",))))
    return proofs


def report(proofs: list[ConsumerProof], out: Any = None) -> bool:
    out = out or sys.stdout
    for proof in proofs:
        print(f"{'PASS' if proof.ok else 'FAIL'}  {proof.consumer}", file=out)
        for failure in proof.failures:
            print(f"      {failure}", file=out)
    passed = sum(proof.ok for proof in proofs)
    print(f"{passed} of {len(proofs)} consumers proved access to the shared data", file=out)
    return passed == len(proofs)


def main(environ: Mapping[str, str] | None = None, invoke: Invoker = invoke_with_boto3, out: Any = None) -> int:
    environ = os.environ if environ is None else environ
    if TARGETS_VARIABLE not in environ:
        print(f"error: {TARGETS_VARIABLE} is not set", file=sys.stderr)
        return 2
    return 0 if report(prove(targets_from(environ), environ, invoke), out) else 1


if __name__ == "__main__":
    sys.exit(main())
