"""What the pipeline runs, in its order and grouping, read from the pipeline definition itself (the waves
of pipelines.CodePipeline), so the rehearsal cannot drift from what CodePipeline does."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Stack, pipelines


class UnknownStep(Exception):
    pass


@dataclass(frozen=True)
class StackDeploy:
    path: str  # the construct path, which the CDK CLI takes as the stack's name
    stack_name: str
    account: str
    region: str


@dataclass(frozen=True)
class Approval:
    name: str
    comment: str


@dataclass(frozen=True)
class TestStep:
    name: str
    commands: tuple[str, ...]
    env: dict[str, str]
    # variable -> (construct path of the stack, output name), as env_from_cfn_outputs resolves them
    outputs: dict[str, tuple[str, str]]
    role_arn: str
    # Where the step's role is defined: its stack's artifact and its logical id (the rehearsal creates it as defined).
    role_stack: str = ""
    role_logical_id: str = ""


@dataclass(frozen=True)
class StageRun:
    name: str
    approvals: tuple[Approval, ...]
    stacks: tuple[StackDeploy, ...]
    tests: tuple[TestStep, ...]


@dataclass(frozen=True)
class WaveRun:
    name: str
    approvals: tuple[Approval, ...]
    stages: tuple[StageRun, ...]
    tests: tuple[TestStep, ...] = field(default=())

    @property
    def stacks(self) -> list[StackDeploy]:
        return [stack for stage in self.stages for stack in stage.stacks]


def waves_of(pipeline: pipelines.CodePipeline) -> list[WaveRun]:
    waves = []
    for wave in pipeline.waves:
        approvals, tests = _steps(wave.pre), _steps(wave.post)
        if tests[0] or approvals[1]:
            raise UnknownStep(f"wave {wave.id}: approvals after or tests before deploying are not rehearsed")
        stages = []
        for stage in wave.stages:
            pre, post = _steps(stage.pre), _steps(stage.post)
            if pre[1] or post[0]:
                raise UnknownStep(
                    f"stage {stage.stage_name}: tests before or approvals after deploying are not rehearsed"
                )
            stacks = tuple(
                StackDeploy(
                    path=s.construct_path, stack_name=s.stack_name, account=s.account or "", region=s.region or ""
                )
                for s in stage.stacks
            )
            stages.append(StageRun(stage.stage_name, tuple(pre[0]), stacks, tuple(post[1])))
        waves.append(WaveRun(wave.id, tuple(approvals[0]), tuple(stages), tuple(tests[1])))
    return waves


def _steps(steps: list[pipelines.Step]) -> tuple[list[Approval], list[TestStep]]:
    approvals, tests = [], []
    for step in steps:
        if isinstance(step, pipelines.ManualApprovalStep):
            approvals.append(Approval(step.id, step.comment or ""))
        elif isinstance(step, pipelines.ConfirmPermissionsBroadening):
            # In CodePipeline it stops only when the stage's IAM permissions widen; the rehearsal cannot diff
            # against a deployed stage, so it treats the step as a gate.
            approvals.append(Approval(step.id, "Confirm any broadening of IAM permissions in the next stage?"))
        elif isinstance(step, pipelines.CodeBuildStep):
            tests.append(_test_step(step))
        else:
            raise UnknownStep(f"step {step.id} ({type(step).__name__}) has no rehearsal")
    return approvals, tests


def _test_step(step: pipelines.CodeBuildStep) -> TestStep:
    role = step.role
    if role is None:
        raise UnknownStep(f"step {step.id} has no role of fixed name to act as")
    stack = Stack.of(role)
    logical_id = str(stack.resolve(stack.get_logical_id(role.node.default_child)))  # type: ignore[arg-type]
    # The name the template gives it (a role's role_name is a reference to it).
    name = stack.resolve(role.node.default_child.role_name)  # type: ignore[union-attr]
    # A role without a fixed name: CloudFormation names it; the rehearsal names it by its logical id.
    name = name if isinstance(name, str) else logical_id
    return TestStep(
        name=step.id,
        commands=tuple(step.commands),
        env={name: str(value) for name, value in step.env.items()},
        outputs={
            name: (reference.stack_description, reference.output_name)
            for name, reference in step.env_from_cfn_outputs.items()
        },
        role_arn=f"arn:{stack.partition}:iam::{stack.account}:role/{name}",
        role_stack=stack.artifact_id,
        role_logical_id=logical_id,
    )
