"""The pipeline's test step: it passes only when every consumer's function and task prove their access, and names
the failure."""

from __future__ import annotations

import io
import json

from pipeline_steps.prove_consumers import (
    IMAGE_HINT,
    NETWORK_HINT,
    WAVE_VARIABLE,
    ProofError,
    ProofTarget,
    TaskNetwork,
    TaskOutcome,
    Wave,
    main,
    prove,
    report,
)

WAVE = Wave(
    partition="aws",
    function="datashare-prod-consumer",
    cluster="datashare-prod-consumer",
    task_family="datashare-prod-consumer",
    role="datashare-prod-pipeline-proof",
    targets=(
        ProofTarget("analytics", "555555555555", "eu-west-1"),
        ProofTarget("reporting", "666666666666", "eu-central-1"),
    ),
)
ENVIRON = {WAVE_VARIABLE: WAVE.encode()}
PASSING = {"ok": True, "checks": [{"name": "list-bucket", "ok": True, "detail": "listed"}]}
PASSED_TASK = TaskOutcome(0, "Essential container in task exited", ("starting", json.dumps(PASSING)))


class FakeTasks:
    """Stands in for Fargate: records the wave it was asked to start and returns the given outcomes."""

    def __init__(self, outcomes=None):
        self.outcomes = outcomes
        self.started = None
        self.events = []

    def start(self, wave):
        self.started = wave
        self.events.append("start")

    def wait(self):
        self.events.append("wait")
        if self.outcomes is None:
            return {target.consumer: PASSED_TASK for target in self.started.targets}
        return self.outcomes


def test_passes_when_every_consumer_proves_access_and_invokes_each_with_its_own_role():
    calls = []

    def invoke(function, region, role, payload):
        calls.append((function, region, role, payload))
        return PASSING

    tasks = FakeTasks()
    assert main(ENVIRON, invoke, tasks) == 0
    assert tasks.started == WAVE
    assert calls == [
        ("datashare-prod-consumer", "eu-west-1", "arn:aws:iam::555555555555:role/datashare-prod-pipeline-proof",
         {"action": "self-check"}),
        ("datashare-prod-consumer", "eu-central-1", "arn:aws:iam::666666666666:role/datashare-prod-pipeline-proof",
         {"action": "self-check"}),
    ]  # fmt: skip


def test_the_wave_survives_its_encoding_and_stays_small():
    assert Wave.decode(WAVE.encode()) == WAVE
    many = Wave(
        "aws-us-gov",
        "f" * 64,
        "c" * 64,
        "t" * 64,
        "r" * 64,
        tuple(ProofTarget("c" * 20, "1" * 12, "us-gov-west-1") for _ in range(49)),
    )
    assert Wave.decode(many.encode()) == many
    # 49 consumers of the longest names fit the 4,096 characters of a CodeBuild variable (checks/service_limits.py).
    assert len(many.encode()) < 3200
    networked = Wave(
        "aws",
        "f",
        "c",
        "t",
        "r",
        (
            ProofTarget("a", "1" * 12, "eu-west-1", TaskNetwork(("subnet-0123456789abcdef0",), (), True)),
            ProofTarget("b", "2" * 12, "eu-west-1", TaskNetwork(("subnet-01234567",), ("sg-01234567",), False)),
        ),
    )
    assert Wave.decode(networked.encode()) == networked


def test_fails_naming_the_consumer_and_the_failed_check():
    def invoke(function, region, role, payload):
        if region == "eu-central-1":
            return {"ok": False, "checks": [{"name": "read-object", "ok": False, "detail": "AccessDenied: no"}]}
        return PASSING

    proofs = prove(WAVE, invoke, FakeTasks())
    out = io.StringIO()
    assert report(proofs, out) is False
    assert "FAIL  reporting (function)" in out.getvalue()
    assert "PASS  reporting (task)" in out.getvalue()
    assert "read-object: AccessDenied: no" in out.getvalue()
    assert "1 of 2 consumers proved their datasets" in out.getvalue()
    assert main(ENVIRON, invoke, FakeTasks()) == 1


def test_an_invoke_error_is_a_failure_not_a_crash():
    def invoke(function, region, role, payload):
        raise RuntimeError("function error: boom")

    proofs = [p for p in prove(WAVE, invoke, FakeTasks()) if p.workload == "function"]
    assert [p.ok for p in proofs] == [False, False]
    assert proofs[0].failures == ("invoke failed: function error: boom",)


def test_a_result_without_ok_is_a_failure():
    proofs = [p for p in prove(WAVE, lambda *args: {"checks": []}, FakeTasks()) if p.workload == "function"]
    assert [p.ok for p in proofs] == [False, False]


def test_missing_wave_is_a_usage_error():
    assert main({}, lambda *args: PASSING, FakeTasks()) == 2


def test_tasks_start_before_the_functions_are_invoked_and_are_awaited_after():
    tasks = FakeTasks()

    def invoke(*args):
        tasks.events.append("invoke")
        return PASSING

    proofs = prove(WAVE, invoke, tasks)
    assert tasks.events == ["start", "invoke", "invoke", "wait"]
    assert [(p.consumer, p.workload, p.ok) for p in proofs] == [
        ("analytics", "function", True),
        ("analytics", "task", True),
        ("reporting", "function", True),
        ("reporting", "task", True),
    ]


def _task_proof(outcome):
    tasks = FakeTasks({"analytics": outcome, "reporting": PASSED_TASK})
    (proof,) = [
        p for p in prove(WAVE, lambda *args: PASSING, tasks) if (p.consumer, p.workload) == ("analytics", "task")
    ]
    return proof


def test_a_task_that_exits_non_zero_fails_with_its_failed_checks():
    failed = {"ok": False, "checks": [{"name": "read-item", "ok": False, "detail": "AccessDeniedException: no"}]}
    proof = _task_proof(TaskOutcome(1, "Essential container in task exited", (json.dumps(failed),)))
    assert not proof.ok
    assert proof.failures == ("exit code 1", "read-item: AccessDeniedException: no")


def test_a_task_that_crashes_shows_the_end_of_its_log():
    log = (*tuple(f"line {n}" for n in range(10)), "ModuleNotFoundError: No module named 'boto3'")
    proof = _task_proof(TaskOutcome(1, "Essential container in task exited", log))
    assert not proof.ok
    assert proof.failures[0] == "exit code 1"
    assert proof.failures[-1] == "ModuleNotFoundError: No module named 'boto3'"
    assert len(proof.failures) == 1 + 1 + 5  # the code, "no result", the last five lines


def test_a_task_whose_container_never_ran_names_the_reason_and_the_network_fix():
    reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): i/o timeout"
    proof = _task_proof(TaskOutcome(None, reason))
    assert not proof.ok
    assert proof.failures == (f"task stopped before its container ran: {reason}", f"      -> {NETWORK_HINT}")


def test_an_image_the_registry_refuses_is_not_called_a_network_problem():
    reason = (
        "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref "
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/consumer:1.0: unexpected status from HEAD request: 403 Forbidden"
    )
    proof = _task_proof(TaskOutcome(None, reason))
    assert proof.failures == (f"task stopped before its container ran: {reason}", f"      -> {IMAGE_HINT}")
    missing = "CannotPullContainerError: ... consumer:9.9: not found"
    assert _task_proof(TaskOutcome(None, missing)).failures[-1] == f"      -> {IMAGE_HINT}"


def test_exit_code_zero_without_a_result_in_the_log_is_not_a_proof():
    proof = _task_proof(TaskOutcome(0, "Essential container in task exited", ("hello",)))
    assert not proof.ok
    assert proof.failures == ("self-check printed no result",)


def test_a_task_that_could_not_run_fails_its_consumer_only():
    tasks = FakeTasks(
        {"analytics": ProofError("account 555555555555 eu-west-1 has no default VPC"), "reporting": PASSED_TASK}
    )
    proofs = prove(WAVE, lambda *args: PASSING, tasks)
    assert [(p.consumer, p.workload) for p in proofs if not p.ok] == [("analytics", "task")]
    assert proofs[1].failures == ("run failed: account 555555555555 eu-west-1 has no default VPC",)
    out = io.StringIO()
    assert report(proofs, out) is False
    assert "1 of 2 consumers proved their datasets from their function and their task" in out.getvalue()


PER_DATASET = {
    "ok": False,
    "checks": [
        {"name": "read-object", "ok": True, "detail": "read the canary", "dataset": "sales", "refusal": False},
        {"name": "write-object", "ok": True, "detail": "wrote", "dataset": "events", "refusal": False},
        {"name": "refused read-object as own role", "ok": False, "detail": "allowed: ...", "dataset": "secret",
         "refusal": True},
    ],
}  # fmt: skip


def test_a_refusal_that_aws_did_not_refuse_fails_the_consumer_naming_the_dataset():
    tasks = FakeTasks({t.consumer: TaskOutcome(1, "exited", (json.dumps(PER_DATASET),)) for t in WAVE.targets})
    out = io.StringIO()
    assert main(ENVIRON, lambda *_: PER_DATASET, tasks, out=out) == 1
    assert "FAIL  analytics (function)\n      secret: refused read-object as own role: allowed: ..." in out.getvalue()


def test_where_iam_is_not_enforced_a_refusal_is_counted_apart_and_said_so():
    # The rehearsal's emulator answers what AWS refuses: the step passes and says the refusal is unproven.
    tasks = FakeTasks({t.consumer: TaskOutcome(1, "exited", (json.dumps(PER_DATASET),)) for t in WAVE.targets})
    out = io.StringIO()
    environ = {**ENVIRON, "PROOF_REFUSALS": "unenforced"}
    assert main(environ, lambda *_: PER_DATASET, tasks, out=out) == 0
    assert (
        "PASS  analytics (task): sales read, events read-write; 1 refusal(s) not provable without IAM enforcement"
    ) in out.getvalue()
    # A failure that is not a refusal still fails there.
    broken = {**PER_DATASET, "checks": [{**PER_DATASET["checks"][0], "ok": False}, *PER_DATASET["checks"][1:]]}
    assert main(environ, lambda *_: broken, FakeTasks(), out=io.StringIO()) == 1


def test_the_pass_line_says_which_datasets_were_proven_and_which_refused():
    proven = {
        **PER_DATASET,
        "ok": True,
        "checks": [*PER_DATASET["checks"][:2], {**PER_DATASET["checks"][2], "ok": True}],
    }
    out = io.StringIO()
    assert main(ENVIRON, lambda *_: proven, FakeTasks(), out=out) == 0
    assert "PASS  analytics (function): sales read, events read-write; refused secret" in out.getvalue()


def test_a_read_only_proof_is_reported_as_reads_proven_and_writes_not():
    from pipeline_steps.prove_consumers import _proved

    checks = [
        {"name": "list-objects", "ok": True, "dataset": "lake"},
        {"name": "read-object", "ok": True, "dataset": "lake"},
        {"name": "reads-only", "ok": True, "dataset": "lake"},
        {"name": "write-object", "ok": True, "dataset": "sales"},
    ]
    assert _proved(checks, []) == "lake read (writes not proven: proof read-only), sales read-write"


def test_sessions_share_the_service_models_read_once():
    from pipeline_steps.prove_consumers import new_session

    first = new_session(region_name="eu-west-1")
    second = new_session(aws_access_key_id="other", aws_secret_access_key="other", region_name="eu-central-1")
    assert first._session.get_component("data_loader") is second._session.get_component("data_loader")
    # Each keeps its own credentials and region.
    assert second.get_credentials().access_key == "other" and second.client("s3").meta.region_name == "eu-central-1"
    assert first.get_credentials().access_key != "other"


def test_where_kms_grants_settle_a_failing_consumer_is_proven_again_and_only_it(monkeypatch):
    """A grant of an existing key takes up to five minutes to be effective: the step proves a failing consumer again,
    30 s apart, until it passes or the time is up; the others are not run again."""
    import pipeline_steps.prove_consumers as step

    waits = []
    monkeypatch.setattr(step, "sleep", waits.append)
    calls = []
    denied = {"ok": False, "checks": [{"name": "read-object", "ok": False, "detail": "AccessDenied: kms:Decrypt"}]}

    def invoke(function, region, role, payload):
        calls.append(region)
        return denied if region == "eu-central-1" and calls.count(region) < 3 else PASSING

    out = io.StringIO()
    settled = {**ENVIRON, step.SETTLE_VARIABLE: "300"}
    assert main(settled, invoke, FakeTasks(), out=out) == 0
    assert waits == [30.0, 30.0] and calls == ["eu-west-1", "eu-central-1", "eu-central-1", "eu-central-1"]
    assert "reporting: not proven yet; again in 30 s" in out.getvalue()
    assert "2 of 2 consumers proved" in out.getvalue()
    # Without grants to settle, one failure fails the step at once; with them, at the end of the time.
    calls.clear()
    assert main(ENVIRON, lambda *a: denied if a[1] == "eu-central-1" else PASSING, FakeTasks()) == 1
    waits.clear()
    assert main(settled, lambda *a: denied if a[1] == "eu-central-1" else PASSING, FakeTasks(), out=io.StringIO()) == 1
    assert sum(waits) == 300


def test_a_prefix_dataset_refused_the_rest_of_its_bucket_is_said_to_be_read_within_its_prefix():
    from pipeline_steps.prove_consumers import _checks

    checks = [
        {"name": "list-objects", "ok": True, "dataset": "events"},
        {"name": "read-object", "ok": True, "dataset": "events"},
        {"name": "refused list-outside-prefix", "ok": True, "dataset": "events", "refusal": True},
        {"name": "refused list-objects as own role", "ok": True, "dataset": "sales", "refusal": True},
    ]
    ok, failures, proved = _checks({"ok": True, "checks": checks})
    assert (ok, failures, proved) == (True, (), "events read (its prefix only); refused sales")


def test_an_api_given_read_whose_write_was_refused_is_said_so_and_not_counted_refused():
    from pipeline_steps.prove_consumers import _checks

    checks = [
        {"name": "call-api", "ok": True, "dataset": "orders"},
        {"name": "refused write-api", "ok": True, "dataset": "orders", "refusal": True},
        {"name": "refused call-api as own role", "ok": True, "dataset": "billing", "refusal": True},
    ]
    ok, failures, proved = _checks({"ok": True, "checks": checks})
    assert (ok, failures, proved) == (True, (), "orders read (its writes refused); refused billing")


def test_a_dataset_whose_grant_has_ended_is_said_refused_because_it_ended():
    from consumer_app.self_check import GRANT_ENDED as SELF_CHECK_WORDS
    from pipeline_steps.prove_consumers import GRANT_ENDED, _checks

    # The step reads the self-check's words without importing the runtime: they must be the same.
    assert SELF_CHECK_WORDS == GRANT_ENDED
    checks = [
        {"name": "read-table", "ok": True, "dataset": "sales"},
        {"name": f"refused read-table as own role ({GRANT_ENDED} 2031-04-01T00:00:00Z)", "ok": True,
         "dataset": "reference", "refusal": True},
        {"name": "refused read-table as own role", "ok": True, "dataset": "secret", "refusal": True},
    ]  # fmt: skip
    ok, failures, proved = _checks({"ok": True, "checks": checks})
    assert (ok, failures, proved) == (True, (), "sales read; refused reference (its grant ended), secret")
