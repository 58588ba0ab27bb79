"""A consumer group's test step: every deployed account's function proves its datasets; the accounts that fail, or
whose stack is not deployed, are named, and the step fails past the group's tolerance."""

from __future__ import annotations

import io

from pipeline_steps.prove_group import GROUP_VARIABLE, Group, Instance, main

GROUP = Group(
    partition="aws",
    name="branches",
    stack_set="datashare-prod-branches",
    region="eu-west-1",
    function="datashare-prod-consumer",
    role="datashare-prod-pipeline-proof",
    tolerance_percentage=0,
)
PASSING = {"ok": True, "checks": [{"name": "read-object", "ok": True, "detail": "read", "dataset": "sales"}]}
FAILING = {"ok": False, "checks": [{"name": "read-object", "ok": False, "detail": "AccessDenied", "dataset": "sales"}]}


def _run(instances: list[Instance], results: dict[str, dict], group: Group = GROUP) -> tuple[int, str, list]:
    invoked: list[tuple[str, str, str]] = []

    def invoke(function: str, region: str, role: str, payload: dict) -> dict:
        invoked.append((function, region, role))
        account = role.split(":")[4]
        return results[account]

    out = io.StringIO()
    code = main({GROUP_VARIABLE: group.encode()}, invoke=invoke, instances=lambda g: instances, out=out)
    return code, out.getvalue(), invoked


def test_every_deployed_account_is_proven_through_its_proof_role():
    instances = [Instance(f"7000000000{i:02d}", "eu-west-1", "SUCCEEDED") for i in range(30)]
    code, out, invoked = _run(instances, {i.account: PASSING for i in instances})
    assert code == 0
    assert len(invoked) == 30
    assert (
        "datashare-prod-consumer",
        "eu-west-1",
        "arn:aws:iam::700000000007:role/datashare-prod-pipeline-proof",
    ) in invoked
    assert "datashare-prod-branches: 30 stack instances (30 SUCCEEDED)" in out
    assert "branches: 30 of 30 accounts proved their datasets from their function; 0 failed" in out


def test_a_failing_account_and_one_not_deployed_are_named_and_fail_the_step():
    instances = [
        Instance("700000000001", "eu-west-1", "SUCCEEDED"),
        Instance("700000000002", "eu-west-1", "SUCCEEDED"),
        Instance("700000000003", "eu-west-1", "FAILED", "Resource handler returned message: ..."),
    ]
    code, out, invoked = _run(instances, {"700000000001": PASSING, "700000000002": FAILING})
    assert code == 1
    assert len(invoked) == 2  # an account without its stack is not invoked
    assert "FAIL  700000000002 eu-west-1: sales: read-object: AccessDenied" in out
    assert "FAIL  700000000003 eu-west-1: its stack is FAILED: Resource handler returned message: ..." in out
    assert "failing: 700000000002 eu-west-1, 700000000003 eu-west-1" in out


def test_failures_within_the_groups_tolerance_pass_the_step():
    instances = [Instance(f"7000000000{i:02d}", "eu-west-1", "SUCCEEDED") for i in range(20)]
    results = {i.account: PASSING for i in instances} | {"700000000000": FAILING}
    tolerant = Group(**{**GROUP.__dict__, "tolerance_percentage": 5})  # 1 of 20
    code, out, _ = _run(instances, results, tolerant)
    assert code == 0 and "1 failed (tolerated: 1, 5%)" in out
    results["700000000001"] = FAILING
    code, out, _ = _run(instances, results, tolerant)
    assert code == 1 and "2 failed (tolerated: 1, 5%)" in out


def test_a_group_whose_units_hold_no_account_fails():
    code, out, _ = _run([], {})
    assert code == 1 and "has no instance: its units hold no account" in out


def test_the_group_encodes_and_decodes():
    assert Group.decode(GROUP.encode()) == GROUP


def test_a_closed_account_is_left_out_and_named_not_failed():
    """StackSets skips a closed account for the 90 days it stays in its unit: so does the proof (with tolerance 0, one
    closed account would fail every run)."""
    instances = [
        Instance("700000000001", "eu-west-1", "SUCCEEDED"),
        Instance("700000000002", "eu-west-1", "SKIPPED_SUSPENDED_ACCOUNT"),
    ]
    code, out, invoked = _run(instances, {"700000000001": PASSING})
    assert code == 0 and len(invoked) == 1
    assert "not proven, closed (suspended) accounts StackSets skips: 700000000002" in out
    assert "branches: 1 of 1 accounts proved their datasets from their function; 0 failed" in out
