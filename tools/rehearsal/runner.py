"""The rehearsal: synthesize, bootstrap every account with the real CDK CLI, then deploy and test wave by
wave exactly as the pipeline does, acting as the tooling account."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from access_report import policies
from bootstrap.policies import permissions_boundary
from config import ConfigError, actions
from config.model import Config, Consumer
from config.naming import Bootstrap, DatasetNames, Names, daily_proof_role, permissions_boundary_name, role_arn
from config.regions import partition_of
from pipeline.app import synthesize
from pipeline_steps import daily_proof, prove_consumers, prove_group, record_deployed
from tools.access_diff import changes_since_deployed, environment_changes, render
from tools.rehearsal import stand_ins
from tools.rehearsal.cdk_cli import CdkCli, CdkFailed
from tools.rehearsal.emulator import REHEARSAL_AT, Emulator
from tools.rehearsal.invoke import LocalInvoker
from tools.rehearsal.organization import MANAGEMENT, EmulatedOrganization
from tools.rehearsal.waves import Approval, TestStep, WaveRun, waves_of

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_APPROVAL = 0, 1, 2, 3

UNENFORCED_NOTE = (
    "--no-enforce: the emulator (moto) enforces neither bucket and key policies nor cross-account trust: this "
    "rehearsal proves the wiring (names, ARNs, outputs, order, the credential chain, the runtime code), not the "
    "permissions: it cannot prove that a consumer is refused a dataset it was not given (the test step counts "
    "those refusals apart); the access report (make access-report) evaluates every policy offline, and in AWS the "
    "same step proves each refusal."
)
ENFORCED_NOTE = (
    "Every request of the project's principals was decided before the emulator served it, by the policies the "
    "emulated accounts hold as deployed (identity policies, permissions boundaries, bucket, access point, key, table "
    "and trust policies, KMS grants, the cross-account rule), with the access report's engine (iam-simulate); a "
    "refusal answered with the service's own error. Not decided: SCPs and RCPs (none are emulated), session policies, "
    "and the services counted as not evaluated. The operator's identities (bootstrap, deploy, the emulator's own "
    "service calls) are exempt."
)
NOTES = (
    "Lambda code cannot run in the emulator (no Docker engine): each invoke ran the function's handler in a "
    "local Python process with the function's configuration and its role's credentials.",
    "ECS tasks cannot run in the emulator either: the test step ran each consumer's task through the same ECS "
    "calls as in AWS (default VPC, RunTask, DescribeTasks, its log), and the emulator ran the task's entry point "
    "(python -m consumer_app self-check) in a local Python process with the task definition's environment and the "
    "task role's credentials, and logged its output and exit code for the step to read.",
    "Container images are not built (no Docker engine): a docker stand-in let asset publishing pass; the "
    "pipeline's asset step builds runtime/Dockerfile.",
)
# Where a consumer is given a dataset with a table.
QUERY_NOTE = (
    "Athena's queries ran in DuckDB over the emulated objects: each query check proved the consumer's workgroup, its "
    "results location, the table in its own catalog, and that the table's description (location, format, columns, "
    "loaded partitions) reads its objects; not Athena's engine (its SQL dialect, its SerDes' edge cases, the bytes "
    "scanned limit). With IAM enforced, its permissions were decided as Athena asks them (the workgroup, the catalog, "
    "the objects) with the consumer role's own credentials."
)

# An item of a shared API's table, written before the stacks are deleted.
API_ITEM_KEY = {"id": {"S": "rehearsal-sample"}}
# Where an environment shares an API.
ACCOUNTS_PER_UNIT = 4  # the emulated accounts of each unit of a consumer group (make local; the bench sets more)
GROUP_LINES = 10  # a group's test step: its passing accounts shown, at most (every failure is)
GROUPS_NOTE = (
    "Consumer groups ran on an emulated organization (moto's Organizations, mended: tools/rehearsal/stack_sets.py): "
    "the groups' stack made each StackSet as the delegated administrator, from its template in the emulated S3; its "
    "instances were created in every account of the units and of the units under them (the management account "
    "excluded), and in an account moved into a unit afterwards (auto-deployment); the group's test step listed them "
    "and proved each account's function, whose code ran from the template's inline index.py. Not emulated: the "
    "rollout's OperationPreferences (every instance was created at once), StackSets' execution role in each account, "
    "the time a real rollout takes (minutes per hundreds of accounts), and whether CloudFormation may read the "
    "template from the tooling account's asset bucket."
)
API_NOTE = (
    "API Gateway is not served by the emulator: it served each shared API's calls itself (tools/rehearsal/apis.py), "
    "sent over HTTP to ID.execute-api.localhost as the runtime signs them: the stage, the resource and the method "
    "found, the caller taken from the SigV4 signature, execute-api:Invoke decided by the API's resource policy and "
    "the caller's policies (with IAM enforced), and the API's function run in a local Python process with its code, "
    "environment and role. Not emulated: throttling, access logs, API Gateway's own invoke of the function."
)


class Stop(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Row:
    phase: str
    name: str
    where: str
    seconds: float
    result: str


class Rehearsal:
    def __init__(
        self,
        *,
        config: Config,
        config_path: str,
        outdir: Path,
        approve: bool,
        destroy: bool,
        out: TextIO = sys.stdout,
        ask: Callable[[str], bool] | None = None,
        enforce: bool = True,
        accounts_per_unit: int = ACCOUNTS_PER_UNIT,
    ) -> None:
        """accounts_per_unit: the emulated accounts of each organizational unit of a consumer group (half of them in
        a unit under it)."""
        self.config = config
        self.accounts_per_unit = accounts_per_unit
        self.organization: EmulatedOrganization | None = None
        self.group_steps: list[tuple[TestStep, WaveRun]] = []
        self.config_path = config_path
        self.outdir = outdir
        self.approve = approve
        self.destroy = destroy
        self.out = out
        self.ask = ask  # None: no terminal to ask at
        self.rows: list[Row] = []
        self.wall: dict[str, float] = {}  # phase -> wall seconds (steps of a phase may run side by side)
        self.started = time.perf_counter()
        self.enforce = enforce
        self.notes = [ENFORCED_NOTE if enforce else UNENFORCED_NOTE, *NOTES]
        if any(
            dataset.catalog and environment.granted(dataset)
            for environment in config.environments
            for dataset in environment.datasets
        ):
            self.notes.append(QUERY_NOTE)
        if any(dataset.api for environment in config.environments for dataset in environment.datasets):
            self.notes.append(API_NOTE)
        if any(environment.consumer_groups for environment in config.environments):
            self.notes.append(GROUPS_NOTE)

    def run(self) -> int:
        self._say(f"Rehearsing {self.config_path} on emulated AWS accounts (moto server, real CDK CLI)")
        code = EXIT_OK
        try:
            waves = self._timed("synth", self.config_path, "local", lambda: self._synth())
            with self.accounts(waves):
                for wave in waves:
                    self._wave(wave)
                self._an_account_joins()
                self._next_approvals()
                self._daily_proofs()
                self._after_a_grant_ends(waves)
                if self.destroy:
                    self._destroy(waves)
        except Stop as stop:
            self._say(f"STOPPED: {stop}")
            code = stop.code
        self._summary(code)
        return code

    @contextlib.contextmanager
    def accounts(self, waves: list[WaveRun]) -> Iterator[Emulator]:
        """The emulated accounts, bootstrapped, with the config's existing resources, for as long as the block runs."""
        with Emulator(enforce=self.enforce, organizations=self._organizations()) as emulator:
            self.emulator = emulator
            self.cdk = CdkCli(endpoint=emulator.endpoint, assembly=self.outdir)
            self.tooling = emulator.administrator(self.config.tooling.account)
            self._organization()
            self._bootstrap(waves)
            self._stand_ins()
            yield emulator

    def prove_again(self, wave: WaveRun, consumers: set[str] | None = None) -> tuple[bool, str]:
        """Runs the wave's test step again (only for the consumers named): whether it passed, and what it printed."""
        printed, saved = io.StringIO(), self.out
        self.out = printed
        try:
            for step in wave.tests + tuple(t for stage in wave.stages for t in stage.tests):
                if consumers is not None:
                    step = _for_consumers(step, consumers)
                self._test(step, wave)
            return True, printed.getvalue()
        except Stop as stop:
            return False, f"{printed.getvalue()}STOPPED: {stop}\n"
        finally:
            self.out = saved

    def _organization(self) -> None:
        """For a config with consumer groups: the emulated organization, its units holding accounts of their own
        (tools/rehearsal/organization.py), each account's path in it for the enforcement."""
        if not any(environment.consumer_groups for environment in self.config.environments):
            return
        started = time.perf_counter()
        self.organization = EmulatedOrganization.build(self.config, self.accounts_per_unit)
        self._organization_paths()
        members = sum(len(accounts) for accounts in self.organization.members.values())
        units = ", ".join(sorted(self.organization.members))
        self._row("organize", f"{self.config.organization_id}: {members} accounts in {units}", "management "
                  f"{MANAGEMENT}", time.perf_counter() - started, "ok")  # fmt: skip
        self._say(
            f"    the tooling account {self.config.tooling.account} is a delegated administrator of StackSets, with "
            "StackSets' trusted access enabled (as make doctor checks)"
        )

    def _organization_paths(self) -> None:
        enforcer = getattr(self.emulator, "enforcer", None)
        if enforcer is not None and self.organization is not None:
            paths = self.organization.paths()
            enforcer.org_paths = paths
            enforcer.organizations |= dict.fromkeys(paths, self.config.organization_id)

    def _organizations(self) -> dict[str, str]:
        """Every account of the config in its organization, where the config names one (grants by aws:PrincipalOrgID):
        the emulated accounts are that organization's members."""
        organization = self.config.organization_id
        if not organization:
            return {}
        accounts = {self.config.tooling.account}
        for environment in self.config.environments:
            accounts |= {environment.source.account, *(c.account for c in environment.consumers)}
        return dict.fromkeys(accounts, organization)

    # phases

    def _synth(self) -> list[WaveRun]:
        # The emulated accounts start empty: every environment's approval shows the access it is about to give, as
        # on a pipeline's first run (tools/access_diff.py; the synth step reads what each environment deployed).
        changes = {
            e.name: [
                f"access changes of {e.name} (nothing deployed yet):",
                *render(environment_changes(e.name, None, e)),
            ]
            for e in self.config.environments
        }
        try:
            self.synthesized = synthesize(
                self.config, self.outdir, config_path=self.config_path, access_changes=changes
            )
        except ConfigError as error:
            raise Stop(EXIT_CONFIG, f"{self.config_path}: {error}") from None
        return waves_of(self.synthesized.pipeline.pipeline)

    def _bootstrap(self, waves: list[WaveRun]) -> None:
        tooling = (self.config.tooling.account, self.config.tooling.region)
        targets = sorted({(s.account, s.region) for wave in waves for s in wave.stacks} - {tooling})

        def bootstrap(target: tuple[str, str]) -> tuple[tuple[str, str], float, str | None]:
            account, region = target
            started = time.perf_counter()
            trust = None if target == tooling else self.config.tooling.account
            try:
                self.cdk.bootstrap(
                    self.emulator.administrator(account), region, trust=trust, bootstrap=Bootstrap.of(self.config)
                )
                return target, time.perf_counter() - started, None
            except CdkFailed as error:
                return target, time.perf_counter() - started, str(error)

        # The tooling account first, then the others side by side (each is its own CLI process).
        started = time.perf_counter()
        results = [bootstrap(tooling)]
        with ThreadPoolExecutor(max_workers=3) as pool:
            results += list(pool.map(bootstrap, targets))
        self.wall["bootstrap"] = time.perf_counter() - started
        for (account, region), seconds, error in results:
            trust = "tooling" if (account, region) == tooling else f"trusts {self.config.tooling.account}"
            self._row("bootstrap", f"{account} {region}", trust, seconds, error or "ok")
            if error:
                raise Stop(EXIT_FAILED, f"bootstrap of {account} {region}: {error}")
        self._boundaries(targets)

    def _boundaries(self, targets: list[tuple[str, str]]) -> None:
        """The project's permissions boundary in each target account, as make bootstrap writes it (the rehearsal's
        bootstrap gives CloudFormation AdministratorAccess instead of the execution policies): every role of the
        stacks carries it, and the enforcement reads it."""
        name = permissions_boundary_name(self.config)
        for account, region in sorted({(a, r) for a, r in targets}, key=lambda t: t[0]):
            iam = self.emulator.administrator(account).session(region).client("iam")
            document = permissions_boundary(self.config, partition_of(region))
            with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
                iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))

    def _stand_ins(self) -> None:
        """What the config names as existing, created in the emulated source accounts as their owners would have it
        (tools/rehearsal/stand_ins.py); the output says so."""
        made = stand_ins.create(
            self.config, lambda account, region: self.emulator.administrator(account).session(region)
        )
        if made:
            self.notes.append(
                "The config's existing resources are not in the emulated accounts: the rehearsal created stand-ins "
                f"before the first deploy ({'; '.join(made)}). It proves the project's side of them, not that the real "
                "ones are as the config says: make doctor checks those."
            )

    def _wave(self, wave: WaveRun) -> None:
        for gate in wave.approvals + tuple(a for stage in wave.stages for a in stage.approvals):
            self._approval(gate, wave)
        stacks = wave.stacks
        where = ", ".join(sorted({f"{s.account} {s.region}" for s in stacks}))
        paths = [s.path for s in stacks]
        started = time.perf_counter()
        try:
            self.cdk.deploy(paths, self.tooling, self.config.tooling.region)
        except CdkFailed as error:
            self._row("deploy", " + ".join(paths), where, time.perf_counter() - started, "FAILED")
            raise Stop(EXIT_FAILED, f"deploy of wave {wave.name}: {error}; later stages were not deployed") from None
        self._row("deploy", " + ".join(paths), where, time.perf_counter() - started, "ok")
        for step in wave.tests + tuple(t for stage in wave.stages for t in stage.tests):
            self._test(step, wave)
            if record_deployed.COMMAND in step.commands:
                self._record(step)

    def _record(self, step: TestStep) -> None:
        """The step's second command, once its proof passed: the config recorded as what the environment deployed, in
        the tooling account's access records (created here as the pipeline stack would; as the operator, not as the
        step's role)."""
        if not Path(self.config_path).is_file():  # a config given as an object (tests): nothing to record
            return
        s3 = self.tooling.session(self.config.tooling.region).client("s3")
        bucket = step.env[record_deployed.RECORDS_VARIABLE]
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.config.tooling.region}
            )
        printed = io.StringIO()
        environ = {
            **step.env,
            # The waves as the rehearsal runs them (in the emulated accounts' default VPCs), and the commit
            # CodePipeline would set.
            **record_deployed.wave_variables([self._in_default_vpcs(w) for w in record_deployed.waves_of(step.env)]),
            record_deployed.CONFIG_VARIABLE: self.config_path,
            record_deployed.COMMIT_VARIABLE: "rehearsal",
        }
        record_deployed.main(environ, s3, out=printed)
        self._say(f"    {printed.getvalue().strip()}")
        self.records = (bucket, s3)

    def _next_approvals(self) -> None:
        """What the next push's approvals would show, read back from the records as the synth step reads them."""
        records = getattr(self, "records", None)
        if records is None:
            return
        bucket, s3 = records
        self._say("The next push's approvals, from the records the test steps wrote:")
        for lines in changes_since_deployed(self.config, bucket, s3).values():
            self._say(f"    {' '.join(lines)}")

    def _daily_proofs(self) -> None:
        """Each environment's scheduled proof, as EventBridge Scheduler starts its CodeBuild project: the same checks
        as the test steps, as its own role (created as the pipeline stack defines it), its result recorded and a
        failure published to a topic (here, the rehearsal's), as the operator."""
        records = getattr(self, "records", None)
        if self.config.proof_schedule is None or records is None:
            return
        bucket, s3 = records
        stack = self.synthesized.pipeline
        template = self.synthesized.template_json(stack)
        region = self.config.tooling.region
        sns = self.tooling.session(region).client("sns")
        topic = sns.create_topic(Name="rehearsal-notifications")["TopicArn"]
        self._say(f"The daily proof ({self.config.proof_schedule}, UTC), as its schedule starts it:")
        for environment in self.config.environments:
            name = daily_proof_role(self.config, environment)
            (logical_id,) = [k for k, r in template["Resources"].items() if r["Properties"].get("RoleName") == name]
            self._create_tooling_role(name, stack.artifact_id, logical_id)
            (project,) = [
                r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CodeBuild::Project"
                and r["Properties"].get("Name") == name
            ]  # fmt: skip
            environ = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
            environ |= {
                daily_proof.RECORDS_VARIABLE: bucket,
                daily_proof.TOPIC_VARIABLE: topic,
            }
            credentials = self.emulator.credentials(role_arn(partition_of(region), self.config.tooling.account, name),
                                                    session_name="daily-proof")  # fmt: skip
            started, printed = time.perf_counter(), io.StringIO()
            code = daily_proof.main(
                environ,
                invoke=LocalInvoker(self.emulator, credentials),
                tasks=prove_consumers.FargateTasks(base=credentials.session("us-east-1"), poll_seconds=0),
                s3=s3,
                sns=sns,
                # Its consumer groups' stack sets, listed as its own role lists them.
                instances=lambda group, c=credentials: prove_group.stack_instances(group, c.session(region)),
                out=printed,
            )
            result = "passed" if code == 0 else "FAILED"
            self._row("daily", name, environment.name, time.perf_counter() - started, result)
            self._say(f"    result recorded: s3://{bucket}/{daily_proof.result_key(environment.name)}")
            if code != 0:
                raise Stop(EXIT_FAILED, f"the daily proof of {environment.name} failed:\n{printed.getvalue()}")

    def _after_a_grant_ends(self, waves: list[WaveRun]) -> None:
        """The first grant of the config that ends by itself, rehearsed: every request decided at the instant it ends
        (aws:CurrentTime, as AWS sets it), and the consumer's test step run again there, which must be refused what
        that grant gave. Nothing is deployed: the policies deployed before end it by themselves."""
        enforcer = getattr(self.emulator, "enforcer", None)
        ending = sorted(
            (ends, environment.name, consumer, dataset.name)
            for environment in self.config.environments
            for consumer, dataset, ends in environment.expiring()
            if isinstance(consumer, Consumer)  # a group's accounts are rehearsed apart
        )
        if not ending or enforcer is None:
            return
        ends, environment, consumer, dataset = ending[0][0], ending[0][1], ending[0][2], ending[0][3]
        at = actions.aws_time(ends)
        self._say(
            f"At {at}, when {consumer.name}'s grant of {dataset} in {environment} ends (no deploy: the policies end "
            "it), the test step again:"
        )
        before, enforcer.at = enforcer.at, ends
        os.environ[REHEARSAL_AT] = at
        try:
            for wave in waves:
                for step in wave.tests + tuple(t for stage in wave.stages for t in stage.tests):
                    targets = prove_consumers.Wave.decode(step.env[prove_consumers.WAVE_VARIABLE]).targets
                    if any((t.consumer, t.account) == (consumer.name, consumer.account) for t in targets):
                        self._test(_for_consumers(step, {consumer.name}), wave, f"at {at}")
        finally:
            enforcer.at = before
            os.environ.pop(REHEARSAL_AT, None)

    def _approval(self, gate: Approval, wave: WaveRun) -> None:
        if self.approve:
            self._row("approve", gate.name, wave.name, 0.0, "approved (--approve)")
            if gate.name.startswith("Approve-"):  # the person's gate shows the access changes it approves
                self._say(textwrap.fill(gate.comment, 116, initial_indent="    ", subsequent_indent="    "))
            return
        if self.ask is None:
            self._row("approve", gate.name, wave.name, 0.0, "waiting")
            raise Stop(
                EXIT_APPROVAL,
                f"approval gate {gate.name} before {wave.name}: no terminal to ask at; "
                "pass --approve to approve every gate",
            )
        started = time.perf_counter()
        if not self.ask(f"{gate.name}: {gate.comment} [y/N] "):
            self._row("approve", gate.name, wave.name, time.perf_counter() - started, "rejected")
            raise Stop(
                EXIT_APPROVAL, f"approval gate {gate.name} was rejected; {wave.name} and later were not deployed"
            )
        self._row("approve", gate.name, wave.name, time.perf_counter() - started, "approved")

    def _test(self, step: TestStep, wave: WaveRun, when: str = "") -> None:
        if step.commands == (prove_group.COMMAND,):
            self._test_group(step, wave, when)
            return
        if step.commands not in ((prove_consumers.COMMAND,), (prove_consumers.COMMAND, record_deployed.COMMAND)):
            raise Stop(EXIT_FAILED, f"step {step.name} runs {list(step.commands)}, which the rehearsal cannot run")
        started = time.perf_counter()
        environ = dict(step.env)
        for variable, (stack_path, output) in step.outputs.items():
            environ[variable] = self._output(wave, stack_path, output)
        environ[prove_consumers.WAVE_VARIABLE] = self._in_default_vpcs(environ[prove_consumers.WAVE_VARIABLE])
        # The emulator's KMS grants are effective at once: a consumer not proven is not proven later either.
        environ.pop(prove_consumers.SETTLE_VARIABLE, None)
        if not self.enforce:  # the step counts a refusal that was not refused apart, and says so
            environ[prove_consumers.REFUSALS_VARIABLE] = "unenforced"
        self._create_step_role(step)
        step_credentials = self.emulator.credentials(step.role_arn, session_name=step.name)
        invoke = LocalInvoker(self.emulator, step_credentials)
        # The emulator advances a task's status at each DescribeTasks: no need to wait between them.
        tasks = prove_consumers.FargateTasks(base=step_credentials.session("us-east-1"), poll_seconds=0)
        printed = io.StringIO()
        code = prove_consumers.main(environ, invoke, tasks, out=printed)
        lines = [line for line in printed.getvalue().splitlines() if line.strip()]
        result = "passed" if code == 0 else "FAILED"
        self._row("test", f"{step.name} {when}".strip(), wave.name, time.perf_counter() - started, result)
        for line in lines:
            self._say(f"    {line}")
        if code != 0:
            failing = sorted({line.split()[1] for line in lines if line.startswith("FAIL")})
            raise Stop(
                EXIT_FAILED,
                f"test step {step.name} failed for {', '.join(failing) or 'its consumers'}; "
                "later stages were not deployed",
            )

    def _test_group(self, step: TestStep, wave: WaveRun, when: str = "", only: set[str] | None = None) -> None:
        """A consumer group's test step: its stack set's instances listed as the delegated administrator, and each
        account's function proven through the step's own role, as in CodeBuild (pipeline_steps/prove_group.py);
        only: the accounts to prove, of those listed (all of them by default)."""
        started = time.perf_counter()
        self._create_step_role(step)
        step_credentials = self.emulator.credentials(step.role_arn, session_name=step.name)
        session = step_credentials.session(self.config.tooling.region)
        printed = io.StringIO()
        code = prove_group.main(
            dict(step.env),
            LocalInvoker(self.emulator, step_credentials),
            lambda group: [i for i in prove_group.stack_instances(group, session) if only is None or i.account in only],
            out=printed,
        )
        lines = [line for line in printed.getvalue().splitlines() if line.strip()]
        self._row("test", f"{step.name} {when}".strip(), wave.name, time.perf_counter() - started,
                  "passed" if code == 0 else "FAILED")  # fmt: skip
        passes = [line for line in lines if line.startswith("PASS")]
        for line in lines:
            if not line.startswith("PASS") or line in passes[:GROUP_LINES]:
                self._say(f"    {line}")
        if len(passes) > GROUP_LINES:
            self._say(f"    ... and {len(passes) - GROUP_LINES} more accounts passed")
        if code != 0:
            raise Stop(EXIT_FAILED, f"test step {step.name} failed; later stages were not deployed")
        self.group_steps.append((step, wave))

    def _an_account_joins(self) -> None:
        """A new account moved into a group's first unit: StackSets' auto-deployment gives it the group's consumer
        stack without a pipeline run, and the group's test step proves it with the others."""
        if self.organization is None or not self.group_steps:
            return
        step, wave = self.group_steps[0]
        group = prove_group.Group.decode(step.env[prove_group.GROUP_VARIABLE])
        unit = next(g for e in self.config.environments for g in e.consumer_groups if g.name == group.name)
        target = unit.organizational_units[0]
        started = time.perf_counter()
        account = self.organization.join(target)
        self._organization_paths()
        instances = prove_group.stack_instances(group, self.tooling.session(self.config.tooling.region))
        joined = [i for i in instances if i.account == account]
        result = f"its stack: {', '.join(f'{i.region} {i.status}' for i in joined) or 'none'}"
        self._row("join", f"account {account} moved into {target}", group.stack_set, time.perf_counter() - started,
                  result)  # fmt: skip
        if not joined:
            raise Stop(EXIT_FAILED, f"account {account} joined {target} and got no stack of {group.stack_set}")
        # The step proves every account in AWS; here the others were proven just before: the new account alone.
        self._test_group(step, wave, f"for {account}, which joined", only={account})

    def _create_step_role(self, step: TestStep) -> None:
        self._create_tooling_role(step.role_arn.rsplit("/", 1)[-1], step.role_stack, step.role_logical_id)

    def _create_tooling_role(self, name: str, stack: str, logical_id: str) -> None:
        """A role of the pipeline stack, in the tooling account, as its template defines it (its trust and policies):
        the rehearsal deploys no pipeline stack, and acts as CodeBuild, which assumes the role."""
        account, region = self.config.tooling.account, self.config.tooling.region
        iam = self.emulator.administrator(account).session(region).client("iam")
        try:
            iam.get_role(RoleName=name)
            return
        except iam.exceptions.NoSuchEntityException:
            pass
        template = self.synthesized.assembly.get_stack_artifact(stack).template
        resolve = policies.resolver(template, account, region, f"pipeline stack {stack}")
        properties = template["Resources"][logical_id]["Properties"]
        trust = resolve.resolve(properties["AssumeRolePolicyDocument"], f"trust of {name}")
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        for number, document in enumerate(policies.identity_policies(template, resolve, name)):
            iam.put_role_policy(RoleName=name, PolicyName=f"policy-{number}", PolicyDocument=json.dumps(document))

    def _in_default_vpcs(self, encoded: str) -> str:
        """The subnets and security groups of a task_network are the user's, which the emulated accounts have not:
        the tasks run in the emulated default VPCs instead, and the rehearsal says so."""
        wave = prove_consumers.Wave.decode(encoded)
        networked = [target.consumer for target in wave.targets if target.network is not None]
        if not networked:
            return encoded
        note = (
            f"The task_network of {', '.join(networked)} names subnets the emulated accounts do not have: the "
            "rehearsal ran those tasks in the default VPC; the pipeline runs them where the config says."
        )
        if note not in self.notes:
            self.notes.append(note)
        targets = tuple(replace(target, network=None) for target in wave.targets)
        return replace(wave, targets=targets).encode()

    def _output(self, wave: WaveRun, stack_path: str, output: str) -> str:
        stack = next(s for s in wave.stacks if s.path == stack_path)
        session = self.emulator.administrator(stack.account).session(stack.region)
        (description,) = session.client("cloudformation").describe_stacks(StackName=stack.stack_name)["Stacks"]
        values = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
        if output not in values:
            raise Stop(EXIT_FAILED, f"stack {stack.stack_name} has no output {output}")
        return str(values[output])

    def _destroy(self, waves: list[WaveRun]) -> None:
        """Delete every stack, newest first, and show that the shared data outlives them."""
        seeded = self._seed_shared_data()
        for wave in reversed(waves):
            started = time.perf_counter()
            paths = [s.path for s in wave.stacks]
            try:
                self.cdk.destroy(paths, self.tooling, self.config.tooling.region)
            except CdkFailed as error:
                raise Stop(EXIT_FAILED, f"destroy of {wave.name}: {error}") from None
            self._row("destroy", " + ".join(paths), wave.name, time.perf_counter() - started, "deleted")
        for environment, (session, names, owned) in seeded.items():
            kept = []
            for dataset in owned:
                if dataset.owns_bucket:
                    body = session.client("s3").get_object(Bucket=dataset.bucket, Key=SAMPLE_KEY)["Body"].read()
                    kept.append(body == SAMPLE_BODY)
                if dataset.owns_table:
                    item = session.client("dynamodb").get_item(TableName=dataset.table, Key=SAMPLE_ITEM_KEY)
                    kept.append("Item" in item)
                if dataset.has_api:
                    item = session.client("dynamodb").get_item(TableName=dataset.api, Key=API_ITEM_KEY)
                    kept.append("Item" in item)
            # The deletion was real: what is not retained (the source roles) is gone.
            roles = {role["RoleName"] for role in session.client("iam").list_roles()["Roles"]}
            for consumer in self.config_environment(environment).consumers:
                if names.source_role(consumer) in roles:
                    raise Stop(
                        EXIT_FAILED, f"{environment}: {names.source_role(consumer)} survived the deletion of its stack"
                    )
            self._row(
                "retained",
                ", ".join(d.name for d in owned),
                environment,
                0.0,
                "buckets, objects, tables and items remain" if all(kept) else "DATA LOST",
            )
            if not all(kept):
                raise Stop(EXIT_FAILED, f"{environment}: shared data did not survive deleting the stacks")

    def config_environment(self, name: str) -> Any:
        return next(e for e in self.config.environments if e.name == name)

    def _seed_shared_data(self) -> dict[str, tuple[Any, Names, list[DatasetNames]]]:
        """An object in every bucket and an item in every table the stacks created (what users would store)."""
        seeded = {}
        for environment in self.config.environments:
            names = Names.of(self.config, environment)
            session = self.emulator.administrator(environment.source.account).session(environment.source.region)
            owned = [names.dataset(d) for d in environment.datasets if names.dataset(d).has_key]
            for dataset in owned:
                if dataset.owns_bucket:
                    session.client("s3").put_object(Bucket=dataset.bucket, Key=SAMPLE_KEY, Body=SAMPLE_BODY)
                if dataset.owns_table:
                    session.client("dynamodb").put_item(
                        TableName=dataset.table, Item={**SAMPLE_ITEM_KEY, "note": {"S": "kept"}}
                    )
                if dataset.has_api:  # the items its API serves, in its table
                    session.client("dynamodb").put_item(
                        TableName=dataset.api, Item={**API_ITEM_KEY, "value": {"S": "1"}}
                    )
            seeded[environment.name] = (session, names, owned)
        return seeded

    # output

    def _timed(self, phase: str, name: str, where: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = work()
        self._row(phase, name, where, time.perf_counter() - started, "ok")
        return result

    def _row(self, phase: str, name: str, where: str, seconds: float, result: str) -> None:
        row = Row(phase, name, where, seconds, result)
        self.rows.append(row)
        if phase != "bootstrap":
            self.wall[phase] = self.wall.get(phase, 0.0) + seconds
        self._say(f"  {phase:<9} {name:<50} {where:<30} {seconds:5.1f} s  {result}")

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _summary(self, code: int) -> None:
        total = time.perf_counter() - self.started
        self._say("")
        self._say(f"Summary ({total:.1f} s in all):")
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.phase] = counts.get(row.phase, 0) + 1
        for phase, count in counts.items():
            self._say(f"  {phase:<9} {count:>3} step(s) {self.wall.get(phase, 0.0):6.1f} s wall")
        enforcer = getattr(getattr(self, "emulator", None), "enforcer", None)
        if enforcer is not None:
            for line in enforcer.summary():
                self._say(f"  IAM       {line}")
        elif not self.enforce:
            self._say("  IAM       not enforced (--no-enforce): no permission was proven")
        verdict = {EXIT_OK: "PASSED", EXIT_APPROVAL: "STOPPED AT AN APPROVAL GATE"}.get(code, "FAILED")
        self._say(f"Result: {verdict}")
        self._say("")
        for note in self.notes:
            self._say(f"Note: {note}")


def _for_consumers(step: TestStep, consumers: set[str]) -> TestStep:
    """The step, proving only the consumers named."""
    wave = prove_consumers.Wave.decode(step.env[prove_consumers.WAVE_VARIABLE])
    targets = tuple(target for target in wave.targets if target.consumer in consumers)
    return replace(step, env={**step.env, prove_consumers.WAVE_VARIABLE: replace(wave, targets=targets).encode()})


SAMPLE_KEY = "rehearsal/sample.csv"
SAMPLE_BODY = b"id,value\n1,kept\n"
SAMPLE_ITEM_KEY = {"pk": {"S": "rehearsal"}, "sk": {"S": "sample"}}
