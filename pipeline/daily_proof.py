"""The test step again, by itself: per environment, a CodeBuild project in the tooling account that runs the same
proof as the environment's test steps (pipeline_steps/daily_proof.py runs pipeline_steps/prove_consumers.py for each
of its waves) against what is deployed, on the config's schedule (EventBridge Scheduler), keeps the result in the
access records for `make doctor`, and tells the notification topic of a failure: drift within a day.

Its role may do what the test steps do (assume the environment's consumers' proof roles, which trust it by name) and
record its result and publish a failure, nothing else. Its code is this commit's pipeline_steps/, an asset of the
pipeline stack, updated by the pipeline's self-mutation."""

from __future__ import annotations

import json

from aws_cdk import Duration, TimeZone
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as assets
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_constructs.findings import acknowledge
from config.model import Config, Environment
from config.naming import Names, daily_proof_role
from config.regions import via_service_values
from pipeline.group_proof import STACK_SET_REASON, group_proof, group_stack_sets_arn
from pipeline_steps import daily_proof, record_deployed
from toolchain import ROOT, pinned_version

STEPS = ROOT / "pipeline_steps"


class DailyProof(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        environment: Environment,
        records: s3.IBucket,
        topic: sns.ITopic,
        topic_key: kms.IKey,
        build_image: codebuild.IBuildImage,
    ) -> None:
        super().__init__(scope, id)
        if config.proof_schedule is None:
            raise ValueError("a daily proof without a schedule")
        names = Names.of(config, environment)
        role = iam.Role(
            self,
            "Role",
            role_name=daily_proof_role(config, environment),
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description=f"Daily proof of {environment.name}: may only assume its consumers' proof roles, record the "
            "result and publish a failure",
        )
        # The proof role by its name in any account, not each consumer's ARN: an environment's 200 consumers listed
        # would take 12,000 characters, past IAM's 10,240 for a role's policies (the test steps' roles list a wave's
        # 49 at most). Each consumer's proof role trusts this role by its exact ARN; the role may assume no other name.
        proof_roles = f"arn:{config.tooling.partition}:iam::*:role/{names.proof_role}"
        role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[proof_roles]))
        # The consumer groups' stack sets, listed as their test steps list them (pipeline/group_proof.py).
        groups = [group_proof(config, environment, group) for group in environment.consumer_groups]
        arns = [group_stack_sets_arn(config, g.stack_set) for g in groups]
        if groups:
            role.add_to_policy(iam.PolicyStatement(actions=["cloudformation:ListStackInstances"], resources=arns))
            role.add_to_policy(
                iam.PolicyStatement(actions=["organizations:ListDelegatedAdministrators"], resources=["*"])
            )
        # What the environment deployed, as its last test step recorded it (a missing record answers 404 only to one
        # who may list), and its own result.
        role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[records.bucket_arn]))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[records.arn_for_objects(record_deployed.waves_key(environment.name))],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[records.arn_for_objects(daily_proof.result_key(environment.name))]
            )
        )
        # A failure to the notification topic, through SNS only with its key (exact actions: grant_publish gives
        # kms:GenerateDataKey*).
        role.add_to_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[topic_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": via_service_values("sns", config.tooling.region)}},
            )
        )
        code = assets.Asset(self, "Code", path=str(STEPS), exclude=["__pycache__", "*.pyc"])
        self.project = codebuild.Project(
            self,
            "Project",
            project_name=daily_proof_role(config, environment),
            description=f"The test step of {environment.name}, again, on a schedule ({config.proof_schedule})",
            role=role,
            environment=codebuild.BuildEnvironment(build_image=build_image),
            environment_variables={
                k: codebuild.BuildEnvironmentVariable(value=v)
                for k, v in {
                    daily_proof.ENVIRONMENT_VARIABLE: environment.name,
                    daily_proof.RECORDS_VARIABLE: records.bucket_name,
                    daily_proof.TOPIC_VARIABLE: topic.topic_arn,
                    **(
                        {daily_proof.GROUPS_VARIABLE: json.dumps([json.loads(g.encode()) for g in groups])}
                        if groups
                        else {}
                    ),
                }.items()
            },
            build_spec=codebuild.BuildSpec.from_object(
                {
                    "version": "0.2",
                    "phases": {
                        "install": {"commands": [f"python3 -m pip install --quiet boto3=={pinned_version('boto3')}"]},
                        "build": {"commands": [daily_proof.COMMAND]},
                    },
                }
            ),
        )
        # Its code, the asset, as its S3 source: set on the resource, as the L2's S3 source would grant the role every
        # object of the assets bucket with wildcard actions (s3:GetObject*, s3:List*).
        cfn = self.project.node.default_child
        if not isinstance(cfn, codebuild.CfnProject):
            raise TypeError("the daily proof's project is not a CodeBuild project")
        cfn.add_property_override("Source.Type", "S3")
        cfn.add_property_override("Source.Location", f"{code.s3_bucket_name}/{code.s3_object_key}")
        # Its code, as CodeBuild reads an S3 source (the object, and where its bucket is): that object alone.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[code.bucket.arn_for_objects(code.s3_object_key)],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetBucketAcl", "s3:GetBucketLocation"], resources=[code.bucket.bucket_arn])
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule=scheduler.ScheduleExpression.expression(config.proof_schedule, TimeZone.ETC_UTC),
            # A start that fails (CodeBuild's quota of concurrent builds) is tried again within the hour, not all day.
            target=targets.CodeBuildStartBuild(self.project, retry_attempts=3, max_event_age=Duration.hours(1)),
            description=f"The daily proof of {environment.name}",
        )
        acknowledge(
            role,
            {
                f"AwsSolutions-IAM5[Resource::{proof_roles}]": "The consumers' proof roles have one name in every "
                "consumer account and each trusts only this role and its test step's, by exact ARN; listing every "
                "consumer's would outgrow IAM's quota on a role's policies.",
                **{f"AwsSolutions-IAM5[Resource::{arn}]": STACK_SET_REASON for arn in arns},
                **(
                    {"AwsSolutions-IAM5[Resource::*]": "organizations:ListDelegatedAdministrators takes no resource."}
                    if groups
                    else {}
                ),
            },
        )
        acknowledge(
            self.project,
            {
                "AwsSolutions-CB4": "The project builds nothing: it writes only its result to the access records "
                "(S3-encrypted) and its log; the proofs' data never leaves the consumer accounts."
            },
        )
