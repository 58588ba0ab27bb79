"""The consumer account's side: the roles of its Lambda function and ECS task, what they may reach in the
source account, the cluster the task runs in, and the role through which the pipeline's test step invokes the
function and runs the task.

Everything in the source account is named from configuration (Names): no CloudFormation reference crosses
accounts, and the key, whose id is unknown before the source stage deploys, is reached by its fixed alias.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from aws_cdk import CfnElement, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_constructs.documents import consumer_policy
from cdk_constructs.findings import acknowledge
from cdk_constructs.inline_code import HANDLER as INLINE_HANDLER
from config import actions
from config import quotas as aws
from config.model import Consumer, Environment
from config.naming import Names, ecr_repository_arn
from toolchain import PYTHON_VERSION, RUNTIME_DIR

HANDLER = "consumer_app.handler.handler"
# The task's one container: the test step reads its exit code and its log stream (<prefix>/<container>/<task id>).
CONTAINER = "Consumer"
LOG_STREAM_PREFIX = "consumer"


def lambda_runtime() -> lambda_.Runtime:
    """The Lambda runtime of PYTHON_VERSION, as the CDK names it (it knows each runtime's properties)."""
    runtime: lambda_.Runtime = getattr(lambda_.Runtime, "PYTHON_" + PYTHON_VERSION.replace(".", "_"))
    return runtime


# The task's architecture, and the platform its image is built for: CDK Pipelines builds image assets on x86_64
# CodeBuild hosts, where an arm64 image would need emulation the build image does not set up. (The function is
# a zip of pure Python and runs on arm64.) A configured consumer_image must be built for linux/amd64.
TASK_ARCHITECTURE = ecs.CpuArchitecture.X86_64
TASK_PLATFORM = ecr_assets.Platform.LINUX_AMD64


def consumer_image_asset() -> ecs.ContainerImage:
    """runtime/Dockerfile, on the Lambda's Python, for the task's architecture."""
    return ecs.ContainerImage.from_asset(
        str(RUNTIME_DIR), build_args={"PYTHON_VERSION": PYTHON_VERSION}, platform=TASK_PLATFORM
    )


class SharedDataAccess(Construct):
    """One managed policy with everything the consumer's roles may do with the datasets it is given: their side of
    each grant (the source account's policies are the other), as cdk_constructs/documents.py computes it."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        environment: Environment,
        consumer: Consumer,
        api_ids: Mapping[str, str],
        api_findings: Mapping[str, str],
    ) -> None:
        """api_ids: the ids of the environment's APIs (tokens: SourceLookups), api_findings: how cdk-nag names each."""
        super().__init__(scope, id)
        document = consumer_policy(names, environment, consumer, api_ids)
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            managed_policy_name=names.shared_data_policy,
            description=f"Datasets {names.project} {names.environment} gives {consumer.name}",
            document=iam.PolicyDocument.from_json(document),
        )
        acknowledgements = {}
        for dataset, access in environment.datasets_of(consumer):
            n = names.dataset(dataset)
            if n.owns_bucket:
                acknowledgements[f"Resource::{n.objects_arn}"] = (
                    f"Objects of dataset {dataset.name}'s bucket (under its prefix): the keys are data."
                )
            if n.through_access_point:
                acknowledgements[f"Resource::{n.access_point_objects_arn}"] = (
                    f"Objects of dataset {dataset.name} through its access point (under its prefix): the keys are data."
                )
            if n.owns_table and not n.table_through_role:
                acknowledgements[f"Resource::{n.table_arn}/index/*"] = (
                    f"Queries on the indexes of dataset {dataset.name}'s table; the table is fixed."
                )
            if n.has_api:
                for method in actions.api_methods(access):
                    finding = n.api_arn(api_findings[n.name], method, actions.API_PATH)
                    acknowledgements[f"Resource::{finding}"] = (
                        f"{method} of any item of dataset {dataset.name}'s API (its items are data); the API, "
                        "stage and method are fixed."
                    )
        if any(
            s["Sid"] == "LocateBuckets" and names.dataset_buckets_pattern in s["Resource"]
            for s in document["Statement"]
        ):
            acknowledgements[f"Resource::{names.dataset_buckets_pattern}"] = (
                "s3:GetBucketLocation (a bucket's region, which Athena, Glue and EMR ask first) of the environment's "
                "dataset buckets in the source account; each bucket's own policy admits only its consumers."
            )
        if any(s["Sid"].startswith("Key") for s in document["Statement"]):
            acknowledgements[f"Resource::{names.key_arn_pattern}"] = (
                "A dataset key's id is unknown before the source stage deploys: keys of the source account only "
                "through S3 or DynamoDB, so what a role decrypts is what the buckets and tables it is given let it "
                "read; each key's own policy (or, for an existing key, the project's grants) admits only its dataset's "
                "consumers."
            )
        if names.catalog_datasets(environment, consumer):
            acknowledgements[f"Resource::arn:{names.partition}:s3:::{names.query_results_bucket(consumer)}/*"] = (
                "Athena's query results in the consumer's own results bucket: each query writes objects of its id."
            )
            acknowledgements[f"Resource::{names.consumer_key_pattern(consumer)}"] = (
                "The results key's id is unknown before the consumer stack deploys: keys of the consumer's own account "
                "and region only through S3, so what a role encrypts or decrypts is what the results bucket lets it."
            )
        acknowledge(
            self.policy, {f"AwsSolutions-IAM5[{finding}]": reason for finding, reason in acknowledgements.items()}
        )


def workload_role(
    scope: Construct,
    *,
    names: Names,
    consumer: Consumer,
    workload: str,
    service: str,
    data_access: iam.IManagedPolicy,
) -> iam.Role:
    """The role of a workload in the consumer account (the construct "Role" in `scope`), with the datasets the
    consumer is given (its shared-data policy): its fixed name, PROJECT-ENV-consumer-WORKLOAD, is what the source
    account's grants admit. The demo function and task use it, and so does a workload of your own
    (extensions/, through ConsumerStack.workload_role): one call."""
    return iam.Role(
        scope,
        "Role",
        role_name=names.workload_role(workload),
        assumed_by=iam.ServicePrincipal(service),
        managed_policies=[data_access],
        description=f"{names.project} {names.environment} consumer {workload} ({consumer.name})",
    )


class ConsumerFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        environment: Environment,
        consumer: Consumer,
        data_access: iam.IManagedPolicy,
        runtime: Mapping[str, str],
        inline: str | None = None,
    ) -> None:
        """inline: the function's code as index.py (cdk_constructs/inline_code.py), where it cannot be an asset."""
        super().__init__(scope, id)
        self.role = workload_role(
            self,
            workload="function",
            service="lambda.amazonaws.com",
            data_access=data_access,
            names=names,
            consumer=consumer,
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=names.consumer_log_group("function"),
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=names.consumer_function,
            runtime=lambda_runtime(),
            architecture=lambda_.Architecture.ARM_64,
            handler=INLINE_HANDLER if inline else HANDLER,
            code=lambda_.Code.from_inline(inline)
            if inline
            else lambda_.Code.from_asset(
                str(RUNTIME_DIR), exclude=["Dockerfile", "requirements.txt", "**/__pycache__"]
            ),
            role=self.role,
            environment=dict(runtime),
            timeout=Duration.seconds(
                function_timeout_seconds(consumer, len(names.catalog_datasets(environment, consumer)))
            ),
            memory_size=256,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            description=f"Reads the data {names.project} {names.environment} shares",
        )


def function_timeout_seconds(consumer: Consumer, queries: int = 0) -> int:
    """The self-check's time: some calls per dataset given (list, read, and for read-write a write and a delete),
    each a round trip to the source region, which may be far: 10 s a dataset over a base of 30 s, and an Athena query's
    wait per table (runtime/consumer_app/queries.py), within Lambda's 15 minutes (the test step waits for as long)."""
    return min(LAMBDA_MAX_SECONDS, 30 + 10 * len(consumer.grants) + QUERY_SECONDS * queries)


LAMBDA_MAX_SECONDS = aws.LAMBDA_TIMEOUT_SECONDS
# The self-check's wait for one query (QUERY_TIMEOUT_SECONDS of runtime/consumer_app/queries.py, which infrastructure
# code does not import) and the calls around it.
QUERY_SECONDS = 130


class ConsumerTask(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        environment: Environment,
        consumer: Consumer,
        data_access: iam.IManagedPolicy,
        image: str | None,
        runtime: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id)
        self.role = workload_role(
            self,
            workload="task",
            service="ecs-tasks.amazonaws.com",
            data_access=data_access,
            names=names,
            consumer=consumer,
        )
        # Named, as every role of the project is: the bootstrap execution policy admits only those.
        self.execution_role = iam.Role(
            self,
            "ExecutionRole",
            role_name=names.task_execution_role,
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description=f"{names.project} {names.environment} consumer task: pulls its image, writes its logs",
        )
        # Only the pipeline's test step runs tasks here, one short self-check per run: no VPC (the step names the
        # subnets when it runs the task) and no capacity of its own (Fargate).
        self.cluster = ecs.CfnCluster(self, "Cluster", cluster_name=names.consumer_cluster)
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            family=names.consumer_task_family,
            task_role=self.role,
            execution_role=self.execution_role,
            cpu=256,
            memory_limit_mib=512,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=TASK_ARCHITECTURE,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        # Revisions are retained (on replacement and on delete), so CloudFormation never deregisters one: the execution
        # policy does not allow ecs:DeregisterTaskDefinition, which IAM grants only on every task definition.
        self.task_definition.apply_removal_policy(RemovalPolicy.RETAIN)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=names.consumer_log_group("task"),
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.task_definition.add_container(
            CONTAINER,
            image=self._image(image),
            environment=dict(runtime),
            logging=ecs.LogDriver.aws_logs(stream_prefix=LOG_STREAM_PREFIX, log_group=self.log_group),
            readonly_root_filesystem=True,
            essential=True,
        )
        acknowledge(
            self,  # the task definition and its execution role
            {
                "AwsSolutions-IAM5[Resource::*]": (
                    "The execution role's ecr:GetAuthorizationToken takes no resource; CDK scopes its image pulls."
                ),
                "AwsSolutions-ECS2": "The environment holds names and ARNs of the shared resources, no secrets.",
                "AwsSolutions-ECS4": (
                    "The cluster runs only the test step's self-check, a task of seconds per pipeline run whose exit "
                    "code and log the step reads; Container Insights would bill metrics for it."
                ),
            },
        )

    def _image(self, image: str | None) -> ecs.ContainerImage:
        """The configured image, or the one the CDK builds from runtime/. An image of a private ECR repository comes
        through that repository, so the execution role may pull it (ContainerImage.from_registry grants nothing, and
        Fargate would stop the task with CannotPullContainerError); the repository's own policy must also let this
        account pull where it is another's (make doctor checks it where it can read it)."""
        if not image:
            return consumer_image_asset()
        arn = ecr_repository_arn(image)
        if arn is None:
            return ecs.ContainerImage.from_registry(image)
        name = arn.split(":repository/", 1)[1]
        reference = image.split(f"/{name}", 1)[1]  # ":TAG", "@sha256:..." or nothing
        repository = ecr.Repository.from_repository_attributes(
            self, "Repository", repository_arn=arn, repository_name=name
        )
        return ecs.ContainerImage.from_ecr_repository(repository, reference[1:] if reference else None)


class ProofRole(Construct):
    """Lets the pipeline's test step and its daily proof, and nothing else in the tooling account, invoke the function
    and run the task (and find where to run it, and read how it ended)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        tooling_account: str,
        provers: list[str],
        consumer: Consumer,
        function: lambda_.IFunction,
        task: ConsumerTask,
    ) -> None:
        super().__init__(scope, id)
        self.role = iam.Role(
            self,
            "Role",
            role_name=names.proof_role,
            assumed_by=iam.AccountPrincipal(tooling_account).with_conditions(
                # The wave's test step role, and the environment's scheduled proof's (the same checks, daily).
                {"ArnEquals": {"aws:PrincipalArn": provers[0] if len(provers) == 1 else provers}}
            ),
            description="Assumed by the pipeline's test step and daily proof to invoke the function and run the task",
            max_session_duration=Duration.hours(1),
        )
        ecs_arn = f"arn:{names.partition}:ecs:{consumer.region}:{consumer.account}"
        cluster = f"{ecs_arn}:cluster/{names.consumer_cluster}"
        tasks = f"{ecs_arn}:task/{names.consumer_cluster}/*"
        revisions = f"{ecs_arn}:task-definition/{names.consumer_task_family}:*"
        logs_arn = f"arn:{names.partition}:logs:{consumer.region}:{consumer.account}:log-group"
        streams = f"{logs_arn}:{task.log_group.log_group_name}:log-stream:*"
        # How the finding names it: cdk-nag writes a reference as <LogicalId>.
        log_group_id = Stack.of(self).resolve(
            Stack.of(self).get_logical_id(cast(CfnElement, task.log_group.node.default_child))
        )
        streams_finding = f"{logs_arn}:<{log_group_id}>:log-stream:*"
        statements = [
            iam.PolicyStatement(
                sid="InvokeTheFunction", actions=["lambda:InvokeFunction"], resources=[function.function_arn]
            ),
            iam.PolicyStatement(
                sid="RunTheTaskInItsCluster",
                actions=["ecs:RunTask"],
                resources=[revisions],
                conditions={"ArnEquals": {"ecs:cluster": cluster}},
            ),
            iam.PolicyStatement(
                sid="PassTheTasksRoles",
                actions=["iam:PassRole"],
                resources=[task.role.role_arn, task.execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="WatchAndStopTheTasks", actions=["ecs:DescribeTasks", "ecs:StopTask"], resources=[tasks]
            ),
            iam.PolicyStatement(sid="ReadTheTasksLog", actions=["logs:GetLogEvents"], resources=[streams]),
        ]
        # The task definition names its log group; where no subnets are configured, the default VPC's are found (ECS
        # itself uses the VPC's default security group where none is named). These Describe actions take no resource.
        describe = ["ecs:DescribeTaskDefinition"]
        if consumer.task_network is None:
            describe += ["ec2:DescribeVpcs", "ec2:DescribeSubnets"]
        statements.append(iam.PolicyStatement(sid="FindWhereAndHowToRun", actions=describe, resources=["*"]))
        for statement in statements:
            self.role.add_to_policy(statement)
        acknowledge(
            self.role,
            {
                f"AwsSolutions-IAM5[Resource::{revisions}]": "Any revision of the task's family, in its cluster only.",
                f"AwsSolutions-IAM5[Resource::{tasks}]": "Tasks of the consumer's cluster: RunTask makes their ids.",
                f"AwsSolutions-IAM5[Resource::{streams_finding}]": "Streams of the task's log group, one per run.",
                "AwsSolutions-IAM5[Resource::*]": "Describe actions that take no resource (ECS task definition, EC2).",
            },
        )
