"""The pipeline's test step (the proof): invoke every consumer's function in self-check mode and fail unless
each one proves it can list and read the shared bucket and reach the shared table.

Runs in CodeBuild with only boto3 installed. It learns the wave from PROOF_WAVE, set at synth: the consumers'
accounts and regions, and the function and proof role names, which are the same in every consumer account of the
environment and computed from the config. Nothing comes from stack outputs: CodePipeline limits an action's
configuration values to 1,000 characters, which the outputs of a wave of consumers would exceed.
It may do nothing but assume those proof roles, each of which may only invoke its own function.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

WAVE_VARIABLE = "PROOF_WAVE"
# What the step runs, from the root of the repository: the pipeline's wiring and the rehearsal both use it.
COMMAND = "python3 pipeline_steps/prove_consumers.py"


@dataclass(frozen=True)
class ProofTarget:
    consumer: str
    account: str
    region: str


@dataclass(frozen=True)
class Wave:
    """What the step proves: the same function and proof role names in each consumer account."""

    partition: str
    function: str
    role: str
    targets: tuple[ProofTarget, ...]

    def role_arn(self, target: ProofTarget) -> str:
        return f"arn:{self.partition}:iam::{target.account}:role/{self.role}"

    def encode(self) -> str:
        return json.dumps(
            {
                "partition": self.partition,
                "function": self.function,
                "role": self.role,
                "targets": [[t.consumer, t.account, t.region] for t in self.targets],
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str) -> Wave:
        data = json.loads(text)
        targets = tuple(ProofTarget(*target) for target in data["targets"])
        return cls(partition=data["partition"], function=data["function"], role=data["role"], targets=targets)


@dataclass(frozen=True)
class ConsumerProof:
    consumer: str
    ok: bool
    failures: tuple[str, ...]


# (function name, region, role ARN, payload) -> the function's response payload
Invoker = Callable[[str, str, str, dict[str, Any]], dict[str, Any]]


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


def prove(wave: Wave, invoke: Invoker) -> list[ConsumerProof]:
    proofs = []
    for target in wave.targets:
        try:
            result = invoke(wave.function, target.region, wave.role_arn(target), {"action": "self-check"})
        except Exception as error:  # any failure to invoke is a failed proof, reported by consumer
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
    if WAVE_VARIABLE not in environ:
        print(f"error: {WAVE_VARIABLE} is not set", file=sys.stderr)
        return 2
    return 0 if report(prove(Wave.decode(environ[WAVE_VARIABLE]), invoke), out) else 1


if __name__ == "__main__":
    sys.exit(main())
