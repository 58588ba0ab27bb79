"""The pipeline's test step (the proof): in every consumer account of the wave, invoke the consumer's function in
self-check mode and run its ECS task (Fargate), and fail unless each of both proves it reaches every dataset the
consumer is given, at its access, and is refused every other.

Runs in CodeBuild with only boto3 installed. It learns the wave from PROOF_WAVE, set at synth: the consumers'
accounts, regions and task networks, and the names of the function, cluster, task family and proof role, which are
the same in every consumer account of the environment and computed from the config. Nothing comes from stack
outputs: CodePipeline limits an action's configuration values to 1,000 characters, which the outputs of a wave of
consumers would exceed. It may do nothing but assume those proof roles, each of which may only invoke its own
function, run its own task in its own cluster, and find the network and read the log of that task.

The tasks of a wave run in parallel: all are started, then the functions are invoked, then the step waits for the
tasks to stop and reads each one's exit code and log.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

WAVE_VARIABLE = "PROOF_WAVE"
REFUSALS_VARIABLE = "PROOF_REFUSALS"
# Seconds within which a consumer whose proof fails is proven again (30 s apart): set where KMS grants give its roles
# an existing key, as KMS makes a new grant effective everywhere within about five minutes.
SETTLE_VARIABLE = "PROOF_SETTLE_SECONDS"
GRANT_SETTLE_SECONDS = 300
SETTLE_INTERVAL = 30.0
# What the step runs, from the root of the repository: the pipeline's wiring and the rehearsal both use it.
COMMAND = "python3 pipeline_steps/prove_consumers.py"
SESSION_NAME = "pipeline-consumer-proof"
STARTED_BY = "pipeline-proof"  # ECS's startedBy of the tasks the step runs
# Fargate takes a minute or two to pull the image and start; the self-check itself takes seconds.
TASK_TIMEOUT_SECONDS = 600
INVOKE_WAIT = 910  # seconds: Lambda's 900 and a margin
POLL_SECONDS = 6.0
# Why a task stops before its container runs, and what usually causes it here.
NETWORK_HINT = (
    "the task could not reach ECR, S3 or CloudWatch Logs from its subnets: give it a public IP "
    "(task_network.assign_public_ip) in a public subnet, or a NAT gateway or VPC endpoints, and security groups that "
    "allow outbound HTTPS"
)
NETWORK_ERRORS = ("CannotPullContainerError", "ResourceInitializationError", "ResourceNotFoundException")
# A pull the registry answered, and refused: not the network. ECR says "access denied" or 403; a missing image or tag
# "not found" or "manifest unknown".
IMAGE_REFUSED = ("access denied", "accessdenied", "403", "not authorized", "not found", "manifest unknown")
IMAGE_HINT = (
    "the registry refused the image: check that consumer_image exists as named, and that its repository's policy "
    "lets this consumer account pull it (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, "
    "ecr:BatchCheckLayerAvailability) where it is in another account"
)


@dataclass(frozen=True)
class TaskNetwork:
    """Where a consumer's task runs; None on the target: the default VPC of its account and region."""

    subnets: tuple[str, ...]
    security_groups: tuple[str, ...] = ()
    assign_public_ip: bool = False


@dataclass(frozen=True)
class ProofTarget:
    consumer: str
    account: str
    region: str
    network: TaskNetwork | None = None


@dataclass(frozen=True)
class Wave:
    """What the step proves: the same function, cluster, task family and proof role names in each consumer
    account."""

    partition: str
    function: str
    cluster: str
    task_family: str
    role: str
    targets: tuple[ProofTarget, ...]

    def role_arn(self, target: ProofTarget) -> str:
        return f"arn:{self.partition}:iam::{target.account}:role/{self.role}"

    def encode(self) -> str:
        def target(t: ProofTarget) -> list[Any]:
            if t.network is None:
                return [t.consumer, t.account, t.region]
            network = t.network
            return [t.consumer, t.account, t.region, network.subnets, network.security_groups, network.assign_public_ip]

        return json.dumps(
            {
                "partition": self.partition,
                "function": self.function,
                "cluster": self.cluster,
                "task_family": self.task_family,
                "role": self.role,
                "targets": [target(t) for t in self.targets],
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str) -> Wave:
        data = json.loads(text)

        def target(values: list[Any]) -> ProofTarget:
            consumer, account, region, *network = values
            if not network:
                return ProofTarget(consumer, account, region)
            subnets, groups, public_ip = network
            return ProofTarget(consumer, account, region, TaskNetwork(tuple(subnets), tuple(groups), public_ip))

        return cls(
            partition=data["partition"],
            function=data["function"],
            cluster=data["cluster"],
            task_family=data["task_family"],
            role=data["role"],
            targets=tuple(target(values) for values in data["targets"]),
        )


@dataclass(frozen=True)
class ConsumerProof:
    consumer: str
    workload: str  # "function" or "task"
    ok: bool
    failures: tuple[str, ...]
    proved: str = ""  # what passed, in a few words: the datasets and the refusals


@dataclass(frozen=True)
class TaskOutcome:
    """How a task ended: its container's exit code (None when the container never ran), why it stopped, and what
    it printed."""

    exit_code: int | None
    reason: str
    log: tuple[str, ...] = ()


class ProofError(Exception):
    """A failure the step explains in one line, with its fix where there is one: the proof of that workload fails,
    the others go on."""

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(f"{problem}: {fix}" if fix else problem)
        self.problem = problem
        self.fix = fix


# (function name, region, role ARN, payload) -> the function's response payload
Invoker = Callable[[str, str, str, dict[str, Any]], dict[str, Any]]


class TaskRunner(Protocol):
    def start(self, wave: Wave) -> None:
        """Start the task of every target of the wave, without waiting."""

    def wait(self) -> dict[str, TaskOutcome | Exception]:
        """Wait for the started tasks to stop: consumer -> how its task ended, or why it could not run."""


_models: Any = None  # botocore's loader of service models, shared by every session new_session() makes


def new_session(**arguments: Any) -> Any:
    """boto3.Session(**arguments), sharing the service models earlier sessions read: botocore reads and parses each
    service's JSON model once per session, so a client of a new session costs about 100 ms, and 10 ms with the
    models shared (the step, the operator and the rehearsal make sessions per account and role)."""
    import boto3
    import botocore.session

    global _models
    core = botocore.session.get_session()
    if _models is None:
        _models = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _models)
    return boto3.Session(botocore_session=core, **arguments)


def assumed_session(base: Any, role_arn: str, region: str, session_name: str = SESSION_NAME) -> Any:
    """A boto3 session of a role (the proof role, by default), from another session (the step's own)."""
    credentials = base.client("sts", region_name=region).assume_role(RoleArn=role_arn, RoleSessionName=session_name)[
        "Credentials"
    ]
    return new_session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def invoke_with_boto3(function_name: str, region: str, role_arn: str, payload: dict[str, Any]) -> dict[str, Any]:
    from botocore.config import Config

    # A synchronous invoke answers when the function ends: wait longer than any function may run (15 minutes), or
    # botocore's 60 s read timeout would end (and retry) a self-check of many datasets still running.
    client = assumed_session(new_session(), role_arn, region).client("lambda", config=Config(read_timeout=INVOKE_WAIT))
    response = client.invoke(FunctionName=function_name, Payload=json.dumps(payload).encode())
    body = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        message = body.get("errorMessage") if isinstance(body, dict) else body
        raise RuntimeError(f"function error: {message}")
    if not isinstance(body, dict):
        raise RuntimeError(f"function returned {type(body).__name__}, not an object")
    return body


@dataclass
class _Started:
    target: ProofTarget
    session: Any
    task_arn: str
    log_group: str
    log_stream: str
    container: str


@dataclass
class FargateTasks:
    """Runs the consumer task of every target on Fargate, in the consumer's cluster, with the proof role."""

    base: Any = None  # the step's boto3 session; None: boto3's default (the CodeBuild project's role)
    poll_seconds: float = POLL_SECONDS
    timeout_seconds: float = TASK_TIMEOUT_SECONDS
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _started: list[_Started] = field(default_factory=list)
    _failed: dict[str, Exception] = field(default_factory=dict)

    def start(self, wave: Wave) -> None:
        base = self.base or new_session()
        for target in wave.targets:
            try:
                session = assumed_session(base, wave.role_arn(target), target.region)
                self._started.append(self._run(session, wave, target))
            except Exception as error:  # reported as the failed proof of that task
                self._failed[target.consumer] = error

    def _run(self, session: Any, wave: Wave, target: ProofTarget) -> _Started:
        ecs = session.client("ecs")
        # The latest active revision: the one the consumer stage has just deployed.
        definition = ecs.describe_task_definition(taskDefinition=wave.task_family)["taskDefinition"]
        (container,) = definition["containerDefinitions"]
        options = container.get("logConfiguration", {}).get("options", {})
        response = ecs.run_task(
            cluster=wave.cluster,
            taskDefinition=definition["taskDefinitionArn"],
            launchType="FARGATE",
            count=1,
            startedBy=STARTED_BY,
            networkConfiguration={"awsvpcConfiguration": awsvpc_configuration(session.client("ec2"), target)},
        )
        if not response.get("tasks"):
            reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in response["failures"])
            raise ProofError(f"RunTask started no task: {reasons or 'no reason given'}")
        task_arn = response["tasks"][0]["taskArn"]
        return _Started(
            target=target,
            session=session,
            task_arn=task_arn,
            log_group=options.get("awslogs-group", ""),
            log_stream=f"{options.get('awslogs-stream-prefix', '')}/{container['name']}/{task_arn.rsplit('/', 1)[-1]}",
            container=container["name"],
        )

    def wait(self) -> dict[str, TaskOutcome | Exception]:
        outcomes: dict[str, TaskOutcome | Exception] = dict(self._failed)
        waiting = list(self._started)
        deadline = self.clock() + self.timeout_seconds
        while waiting:
            for started in list(waiting):
                try:
                    outcome = self._stopped(started)
                except Exception as error:  # a failure to watch one task fails its proof only, and stops it
                    self._stop(started)
                    outcomes[started.target.consumer] = error
                    waiting.remove(started)
                    continue
                if outcome is not None:
                    outcomes[started.target.consumer] = outcome
                    waiting.remove(started)
            if waiting and self.clock() >= deadline:
                for started in waiting:
                    self._stop(started)
                    outcomes[started.target.consumer] = ProofError(
                        f"task did not stop within {self.timeout_seconds:.0f} s; stopped it"
                    )
                break
            if waiting:
                self.sleep(self.poll_seconds)
        return outcomes

    def _stopped(self, started: _Started) -> TaskOutcome | None:
        ecs = started.session.client("ecs")
        tasks = ecs.describe_tasks(cluster=started.task_arn.split("/")[-2], tasks=[started.task_arn])["tasks"]
        # ECS is eventually consistent: a task just started may not be described yet (it is under "failures").
        if not tasks or tasks[0]["lastStatus"] != "STOPPED":
            return None
        task = tasks[0]
        container: dict[str, Any] = next(
            (c for c in task.get("containers", []) if c.get("name") == started.container), {}
        )
        reason = container.get("reason") or task.get("stoppedReason", "")
        exit_code = container.get("exitCode")
        # A container that never ran logged nothing: no need to wait for its log.
        return TaskOutcome(exit_code, reason, self._log(started, attempts=3 if exit_code is not None else 1))

    def _log(self, started: _Started, attempts: int) -> tuple[str, ...]:
        """The task's log, which CloudWatch Logs may show a few seconds after the task stops."""
        for attempt in range(attempts):
            lines = _read_stream(started.session.client("logs"), started.log_group, started.log_stream)
            if lines:
                return lines
            if attempt < attempts - 1:
                self.sleep(self.poll_seconds)
        return ()

    @staticmethod
    def _stop(started: _Started) -> None:
        # The timeout is what the proof reports; a failed stop leaves the task to its own end.
        with contextlib.suppress(Exception):
            started.session.client("ecs").stop_task(
                cluster=started.task_arn.split("/")[-2], task=started.task_arn, reason="pipeline proof timed out"
            )


def _read_stream(logs: Any, group: str, stream: str) -> tuple[str, ...]:
    """Every event of a log stream, from its start: GetLogEvents may answer with fewer than there are, so the forward
    token is followed until it comes back unchanged (a few pages at most for a self-check)."""
    lines: list[str] = []
    token = None
    for _ in range(20):
        request = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        try:
            page = logs.get_log_events(**request, **({"nextToken": token} if token else {}))
        except logs.exceptions.ResourceNotFoundException:
            break
        lines += [event["message"] for event in page["events"]]
        if page.get("nextForwardToken") in (None, token):
            break
        token = page["nextForwardToken"]
    return tuple(lines)


def awsvpc_configuration(ec2: Any, target: ProofTarget) -> dict[str, Any]:
    """RunTask's network for the target's task: the configured subnets and security groups (none: ECS uses the
    VPC's default security group), or the default VPC's default subnets with a public IP."""
    if target.network is not None:
        configuration: dict[str, Any] = {
            "subnets": list(target.network.subnets),
            "assignPublicIp": "ENABLED" if target.network.assign_public_ip else "DISABLED",
        }
        if target.network.security_groups:
            configuration["securityGroups"] = list(target.network.security_groups)
        return configuration
    # The default subnets are public: the task needs a public IP to pull its image and reach AWS.
    return {"subnets": list(default_subnets(ec2, target)), "assignPublicIp": "ENABLED"}


def default_subnets(ec2: Any, target: ProofTarget) -> tuple[str, ...]:
    """The default subnets of the default VPC of the target's account and region, at most 16 (RunTask's limit); a
    ProofError says what is missing and how to fix it."""
    where = f"account {target.account} {target.region}"
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise ProofError(
            f"{where} has no default VPC to run the task in",
            "name subnets in consumers[].task_network of the config, or create one "
            f"(aws ec2 create-default-vpc --region {target.region})",
        )
    vpc = vpcs[0]["VpcId"]
    found = ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default-for-az", "Values": ["true"]}]
    )["Subnets"]
    if not found:
        raise ProofError(
            f"the default VPC {vpc} of {where} has no default subnets",
            "name subnets in consumers[].task_network of the config",
        )
    return tuple(sorted(s["SubnetId"] for s in found))[:16]


def _checks(result: Any, *, refusals_enforced: bool = True) -> tuple[bool, tuple[str, ...], str]:
    """Whether a self-check result passed, its failed checks, and what it proved. Where IAM is not enforced (the
    rehearsal's emulator), a refusal that was not refused proves nothing either way: it is counted apart."""
    if not isinstance(result, dict):
        return False, ("self-check printed no result",), ""
    checks = [item for item in result.get("checks", []) if isinstance(item, dict)]
    unproven = [c for c in checks if c.get("refusal") and not c.get("ok") and not refusals_enforced]
    failed = [c for c in checks if not c.get("ok") and c not in unproven]
    failures = tuple(
        f"{c['dataset']}: {c['name']}: {c['detail']}" if c.get("dataset") else f"{c['name']}: {c['detail']}"
        for c in failed
    )
    ok = not failed and (bool(result.get("ok")) or bool(unproven)) and bool(checks)
    return ok, failures or (() if ok else ("self-check reported failure",)), _proved(checks, unproven)


checks = _checks  # what a group's test step judges each account's self-check by (pipeline_steps/prove_group.py)


# How the self-check names the checks of a dataset whose grant has ended (runtime/consumer_app/self_check.py says the
# same; a test keeps them equal): the step runs apart from the runtime code and does not import it.
GRANT_ENDED = "grant ended"


def _proved(checks: list[dict[str, Any]], unproven: list[dict[str, Any]]) -> str:
    """'sales read-write, events read; refused reference' from the checks that passed."""
    given: dict[str, str] = {}
    refused: set[str] = set()
    reads_only: set[str] = set()  # read-write, but the config asks for a proof of the reads only
    queried: set[str] = set()  # its table answered a query (Athena, in the consumer's workgroup)
    within: set[str] = set()  # given a prefix, refused the rest of the bucket
    writes_refused: set[str] = set()  # an API given read, whose write was refused
    for check in checks:
        dataset = check.get("dataset")
        if not dataset or not check.get("ok"):
            continue
        if check["name"] == "reads-only":
            reads_only.add(dataset)
        elif check["name"] == "refused list-outside-prefix":
            within.add(dataset)
        elif check["name"] == "refused write-api":
            writes_refused.add(dataset)
        elif check.get("refusal"):
            refused.add(f"{dataset} (its grant ended)" if f"({GRANT_ENDED} " in check["name"] else dataset)
        elif check["name"] == "query-table":
            queried.add(dataset)
        else:
            given[dataset] = "read-write" if given.get(dataset) == "read-write" or "write" in check["name"] else "read"
    parts = [
        ", ".join(
            f"{name} {access}"
            + (" (its prefix only)" if name in within else "")
            + (" (its writes refused)" if name in writes_refused else "")
            + (" and queried" if name in queried else "")
            + (" (writes not proven: proof read-only)" if name in reads_only else "")
            for name, access in given.items()
        )
    ]
    if refused:
        parts.append("refused " + ", ".join(sorted(refused)))
    if unproven:
        parts.append(f"{len({c['dataset'] for c in unproven})} refusal(s) not provable without IAM enforcement")
    return "; ".join(part for part in parts if part)


def _self_check_result(log: tuple[str, ...]) -> Any:
    """The self-check's result: the last line of the task's log that is a JSON object with its checks."""
    for line in reversed(log):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "checks" in value:
            return value
    return None


def task_proof(
    consumer: str, outcome: TaskOutcome | Exception | None, *, refusals_enforced: bool = True
) -> ConsumerProof:
    if outcome is None:
        return ConsumerProof(consumer, "task", False, ("task was not started",))
    if isinstance(outcome, Exception):
        return ConsumerProof(consumer, "task", False, (f"run failed: {outcome}",))
    ok, failures, proved = _checks(_self_check_result(outcome.log), refusals_enforced=refusals_enforced)
    if outcome.exit_code is None:
        failure = f"task stopped before its container ran: {outcome.reason or 'no reason given'}"
        hint = (f"      -> {_hint(outcome.reason)}",) if any(e in outcome.reason for e in NETWORK_ERRORS) else ()
        return ConsumerProof(consumer, "task", False, (failure, *hint))
    if outcome.exit_code != 0 and not (ok and not refusals_enforced):
        tail = () if _self_check_result(outcome.log) else tuple(outcome.log[-5:])
        return ConsumerProof(consumer, "task", False, (f"exit code {outcome.exit_code}", *failures, *tail))
    return ConsumerProof(consumer, "task", ok, failures, proved)


def _hint(reason: str) -> str:
    refused = "CannotPullContainerError" in reason and any(word in reason.lower() for word in IMAGE_REFUSED)
    return IMAGE_HINT if refused else NETWORK_HINT


def prove(wave: Wave, invoke: Invoker, tasks: TaskRunner, *, refusals_enforced: bool = True) -> list[ConsumerProof]:
    tasks.start(wave)
    proofs = []
    for target in wave.targets:
        try:
            result = invoke(wave.function, target.region, wave.role_arn(target), {"action": "self-check"})
        except Exception as error:  # any failure to invoke is a failed proof, reported by consumer
            proofs.append(ConsumerProof(target.consumer, "function", False, (f"invoke failed: {error}",)))
            continue
        proofs.append(ConsumerProof(target.consumer, "function", *_checks(result, refusals_enforced=refusals_enforced)))
    outcomes = tasks.wait()
    proofs += [
        task_proof(target.consumer, outcomes.get(target.consumer), refusals_enforced=refusals_enforced)
        for target in wave.targets
    ]
    return sorted(proofs, key=lambda proof: [t.consumer for t in wave.targets].index(proof.consumer))


def report(proofs: list[ConsumerProof], out: Any = None) -> bool:
    out = out or sys.stdout
    for proof in proofs:
        proved = f": {proof.proved}" if proof.ok and proof.proved else ""
        print(f"{'PASS' if proof.ok else 'FAIL'}  {proof.consumer} ({proof.workload}){proved}", file=out)
        for failure in proof.failures:
            print(f"      {failure}", file=out)
    consumers = {proof.consumer for proof in proofs}
    failed = {proof.consumer for proof in proofs if not proof.ok}
    print(
        f"{len(consumers) - len(failed)} of {len(consumers)} consumers proved their datasets "
        f"from their function and their task",
        file=out,
    )
    return not failed


def main(
    environ: Mapping[str, str] | None = None,
    invoke: Invoker = invoke_with_boto3,
    tasks: TaskRunner | None = None,
    out: Any = None,
) -> int:
    environ = os.environ if environ is None else environ
    if WAVE_VARIABLE not in environ:
        print(f"error: {WAVE_VARIABLE} is not set", file=sys.stderr)
        return 2
    # Only the rehearsal sets it: its emulator enforces no IAM, so it cannot prove a refusal.
    enforced = environ.get(REFUSALS_VARIABLE) != "unenforced"
    wave, tasks = Wave.decode(environ[WAVE_VARIABLE]), tasks or FargateTasks()
    proofs = prove(wave, invoke, tasks, refusals_enforced=enforced)
    settle = float(environ.get(SETTLE_VARIABLE, "0"))
    waited = 0.0
    while waited < settle and any(not proof.ok for proof in proofs):
        failing = {proof.consumer for proof in proofs if not proof.ok}
        print(
            f"{', '.join(sorted(failing))}: not proven yet; again in {SETTLE_INTERVAL:.0f} s (KMS grants take up to "
            f"{settle:.0f} s to be effective, {waited:.0f} s so far)",
            file=out or sys.stdout,
        )
        sleep(SETTLE_INTERVAL)
        waited += SETTLE_INTERVAL
        again = replace(wave, targets=tuple(t for t in wave.targets if t.consumer in failing))
        retried = prove(again, invoke, tasks, refusals_enforced=enforced)
        proofs = [p for p in proofs if p.consumer not in failing] + retried
        proofs.sort(key=lambda proof: [t.consumer for t in wave.targets].index(proof.consumer))
    return 0 if report(proofs, out) else 1


def sleep(seconds: float) -> None:
    """time.sleep, which the tests replace."""
    time.sleep(seconds)


if __name__ == "__main__":
    sys.exit(main())
