"""The test step of a consumer group: the group's StackSet lists its stack instances (one per account and region of
the group's organizational units, as StackSets knows them now), and each deployed account's function runs its
self-check, as a listed consumer's does (pipeline_steps/prove_consumers.py), a bounded number at once.

It reports one line per account, then a summary with the failing accounts named, and fails when the accounts that
failed or have no deployed stack are more than the group's tolerance (percent of its accounts). The ECS task is not
run in every account of a group: the function proves the same grants from the same policy, and a task per account of
thousands would start thousands of Fargate tasks per push.

Runs in CodeBuild with only boto3 installed; learns the group from PROOF_GROUP, set at synth. It may list the stack
set's instances (as the organization's delegated administrator) and assume the group's proof roles, nothing else.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

try:  # in the project (tests, the rehearsal)
    from pipeline_steps import prove_consumers
except ImportError:  # in CodeBuild, run from the repository's root as a script of this folder
    import prove_consumers  # type: ignore[import-not-found,no-redef]

GROUP_VARIABLE = "PROOF_GROUP"
COMMAND = "python3 pipeline_steps/prove_group.py"
# Self-checks at once: each waits on its function (seconds); Lambda's and STS's rates allow far more, the step's one
# vCPU and its connections not many more.
CONCURRENCY = 16
# StackSets' status of an instance whose last operation deployed the stack set's current template.
DEPLOYED = "SUCCEEDED"
# An account closed (suspended) but still in its unit for 90 days: StackSets skips it, and so does the proof.
SUSPENDED = "SKIPPED_SUSPENDED_ACCOUNT"


@dataclass(frozen=True)
class Group:
    """What the step proves: the group's stack set, and the function and proof role of its consumer stack (the same
    names in every account)."""

    partition: str
    name: str
    stack_set: str
    region: str  # where the stack set is administered (the pipeline's region)
    function: str
    role: str
    tolerance_percentage: int

    def role_arn(self, account: str) -> str:
        return f"arn:{self.partition}:iam::{account}:role/{self.role}"

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> Group:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Instance:
    account: str
    region: str
    status: str  # DetailedStatus: SUCCEEDED, FAILED, CANCELLED, PENDING, RUNNING, INOPERABLE, ...
    reason: str = ""


@dataclass(frozen=True)
class AccountProof:
    account: str
    region: str
    ok: bool
    detail: str  # what it proved, or why it failed


def stack_instances(group: Group, session: Any = None) -> list[Instance]:
    """The stack set's instances as StackSets lists them, asked as the organization's delegated administrator."""
    client = (session or prove_consumers.new_session()).client("cloudformation", region_name=group.region)
    found = []
    for page in client.get_paginator("list_stack_instances").paginate(
        StackSetName=group.stack_set, CallAs="DELEGATED_ADMIN"
    ):
        for summary in page["Summaries"]:
            detailed = summary.get("StackInstanceStatus", {}).get("DetailedStatus") or summary.get("Status", "")
            found.append(Instance(summary["Account"], summary["Region"], detailed, summary.get("StatusReason", "")))
    return sorted(found, key=lambda instance: (instance.account, instance.region))


def prove_account(group: Group, instance: Instance, invoke: prove_consumers.Invoker) -> AccountProof:
    if instance.status != DEPLOYED:
        reason = f": {instance.reason}" if instance.reason else ""
        return AccountProof(instance.account, instance.region, False, f"its stack is {instance.status}{reason}")
    try:
        result = invoke(group.function, instance.region, group.role_arn(instance.account), {"action": "self-check"})
    except Exception as error:  # any failure to invoke is a failed proof of that account
        return AccountProof(instance.account, instance.region, False, f"invoke failed: {error}")
    ok, failures, proved = prove_consumers.checks(result)
    return AccountProof(instance.account, instance.region, ok, proved if ok else "; ".join(failures))


def prove(
    group: Group, instances: Iterable[Instance], invoke: prove_consumers.Invoker, *, concurrency: int = CONCURRENCY
) -> list[AccountProof]:
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda instance: prove_account(group, instance, invoke), instances))


def report(group: Group, proofs: list[AccountProof], out: Any = None) -> bool:
    """One line per account, the summary, and whether the failures are within the group's tolerance."""
    out = out or sys.stdout
    for proof in proofs:
        print(f"{'PASS' if proof.ok else 'FAIL'}  {proof.account} {proof.region}: {proof.detail}", file=out)
    failed = [proof for proof in proofs if not proof.ok]
    allowed = len(proofs) * group.tolerance_percentage // 100
    print(
        f"{group.name}: {len(proofs) - len(failed)} of {len(proofs)} accounts proved their datasets from their "
        f"function; {len(failed)} failed (tolerated: {allowed}, {group.tolerance_percentage}%)",
        file=out,
    )
    if failed:
        named = ", ".join(f"{p.account} {p.region}" for p in failed[:20])
        more = f" and {len(failed) - 20} more" if len(failed) > 20 else ""
        print(f"failing: {named}{more}", file=out)
    if not proofs:
        print(f"{group.name}: the stack set {group.stack_set} has no instance: its units hold no account", file=out)
        return False
    return len(failed) <= allowed


def main(
    environ: Mapping[str, str] | None = None,
    invoke: prove_consumers.Invoker = prove_consumers.invoke_with_boto3,
    instances: Callable[[Group], list[Instance]] = stack_instances,
    out: Any = None,
) -> int:
    environ = os.environ if environ is None else environ
    if GROUP_VARIABLE not in environ:
        print(f"error: {GROUP_VARIABLE} is not set", file=sys.stderr)
        return 2
    group = Group.decode(environ[GROUP_VARIABLE])
    found = instances(group)
    statuses: dict[str, int] = {}
    for instance in found:
        statuses[instance.status] = statuses.get(instance.status, 0) + 1
    listed = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())) or "none"
    print(f"{group.stack_set}: {len(found)} stack instances ({listed})", file=out or sys.stdout)
    suspended = [i for i in found if i.status == SUSPENDED]
    if suspended:
        accounts = ", ".join(i.account for i in suspended[:20]) + (" and more" if len(suspended) > 20 else "")
        print(f"not proven, closed (suspended) accounts StackSets skips: {accounts}", file=out or sys.stdout)
    proven = [i for i in found if i.status != SUSPENDED]
    if found and not proven:
        print(f"{group.name}: every account of its units is closed: nothing to prove", file=out or sys.stdout)
        return 0
    return 0 if report(group, prove(group, proven, invoke), out) else 1


if __name__ == "__main__":
    sys.exit(main())
