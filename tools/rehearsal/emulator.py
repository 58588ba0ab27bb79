"""The AWS emulator of the rehearsal: moto's server on 127.0.0.1, in this process.

moto enforces neither bucket policies nor cross-account trust (it acts in the account of whichever credentials sign
a request, and evaluates no resource policy): with enforce, every request of an emulated principal is decided first
by the policies the emulator holds (tools/rehearsal/enforcement.py), so the rehearsal proves the permissions as well
as the wiring (names, ARNs, outputs, order, the credential chain, the runtime code). The few gaps of moto's
CloudFormation support that the project's templates hit are mended here, in the emulator, never by changing what
the stacks deploy.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from pipeline_steps.prove_consumers import new_session
from toolchain import RUNTIME_DIR
from tools.rehearsal import apis, enforcement, iam_requests, sql, stack_sets
from tools.rehearsal.apis import issue
from tools.rehearsal.enforcement import Enforcer
from tools.rehearsal.hosts import sitecustomize as hosts

_mended = False
# Whether an Emulator is serving: only then do its Fargate tasks run locally (moto in other tests of the same process
# keeps its own behaviour).
_serving = False


def _mend_moto() -> None:
    global _mended
    if not _mended:
        _mend_kms_keys()
        _add_global_tables()
        _add_access_points()
        _add_bucket_policies()
        _mend_log_group_arns()
        _add_catalogs()
        _serve_access_points()
        _mend_deletion_policies()
        _attach_roles_managed_policies()
        _run_sdk_custom_resources()
        _register_whole_task_definitions()
        mend_tables_by_arn()
        mend_default_security_groups()  # first: it reads RunTask's arguments by moto's own signature
        _run_fargate_containers()
        apis.mend()
        stack_sets.mend()
        _mended = True


def _run_sdk_custom_resources() -> None:
    """moto runs a custom resource's function in Docker, which the rehearsal has not. The CDK's AwsCustomResource
    asks its function for one SDK call, written in the resource's properties: the emulator makes that call itself,
    in the resource's account (or as the role the call names, in its region), as the function would, and answers
    with the response's fields the call asks for, which Fn::GetAtt then reads."""
    import re

    from moto.cloudformation import custom_model

    original = custom_model.CustomModel.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        if "Create" not in properties:
            return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        call = json.loads(properties["Create"])
        # As Lambda does: the function's role (the emulator issues its credentials), which then assumes the role the
        # call names, if any, with those credentials (a request the enforcement decides, as AWS does).
        own = _function_role(str(properties.get("ServiceToken", "")))
        role = own or f"arn:aws:iam::{account_id}:role/rehearsal-custom-resource"
        sts = boto3.client("sts", region_name=region_name, aws_access_key_id="x", aws_secret_access_key="x")
        issued = sts.assume_role(RoleArn=role, RoleSessionName="custom-resource")["Credentials"]
        if call.get("assumedRoleArn"):
            chained = boto3.client(
                "sts",
                region_name=region_name,
                aws_access_key_id=issued["AccessKeyId"],
                aws_secret_access_key=issued["SecretAccessKey"],
                aws_session_token=issued["SessionToken"],
            )
            issued = chained.assume_role(RoleArn=call["assumedRoleArn"], RoleSessionName="custom-resource")[
                "Credentials"
            ]
        client = boto3.client(
            call["service"].removeprefix("@aws-sdk/client-").lower(),
            region_name=call.get("region", region_name),
            aws_access_key_id=issued["AccessKeyId"],
            aws_secret_access_key=issued["SecretAccessKey"],
            aws_session_token=issued["SessionToken"],
        )
        response = getattr(client, re.sub(r"(?<!^)([A-Z])", r"_\1", call["action"]).lower())(**call["parameters"])
        response.pop("ResponseMetadata", None)
        fields = _flattened(response)
        wanted = call.get("outputPaths")
        resource = custom_model.CustomModel(  # type: ignore[abstract]  # moto's own class, as moto makes it
            region_name, "rehearsal", kwargs["LogicalId"], resource_name
        )
        resource.set_data({k: v for k, v in fields.items() if wanted is None or k in wanted})
        return resource

    custom_model.CustomModel.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]


def _function_role(function_arn: str) -> str | None:
    """The role of the function a custom resource's ServiceToken names, where the emulator holds it."""
    from moto.awslambda.models import lambda_backends

    parts = function_arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda":
        return None
    try:
        return str(lambda_backends[parts[4]][parts[3]].get_function(function_arn).role)
    except Exception:  # moto's not-found: the emulator's own role stands in
        return None


def _flattened(value: Any, path: str = "") -> dict[str, Any]:
    """A response as the AwsCustomResource's function hands it to CloudFormation: one field per leaf, named by its
    path (Outer.Inner, List.0)."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else None
    if items is None:
        return {path: value if isinstance(value, (str, int, float, bool)) else str(value)}
    return {k: v for key, inner in items for k, v in _flattened(inner, f"{path}.{key}" if path else str(key)).items()}


_TABLE_ARN = re.compile(r"^arn:aws[a-z-]*:dynamodb:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):table/")


def mend_tables_by_arn() -> None:
    """DynamoDB serves a table named by its ARN from the account and region in the ARN, as it does for a consumer
    that reaches another account's table through the table's resource policy; moto looks it up in the caller's own
    account. The policy itself is not evaluated (moto evaluates none)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.dynamodb_backend
    if getattr(original.fget, "mended", False):  # type: ignore[attr-defined]
        return

    def backend(self: DynamoHandler) -> Any:
        body = self.body if isinstance(self.body, dict) else {}
        match = _TABLE_ARN.match(str(body.get("TableName", "")))
        if match:
            return dynamodb_backends[match["account"]][match["region"]]
        return original.fget(self)  # type: ignore[attr-defined]

    backend.mended = True  # type: ignore[attr-defined]
    DynamoHandler.dynamodb_backend = property(backend)  # type: ignore[method-assign,assignment]


# The task's properties moto's CloudFormation leaves out when it registers a task definition (it keeps the family,
# containers, volumes and memory): without them the task would have no role, and run in bridge mode on EC2.
_TASK_DEFINITION_PROPERTIES = {
    "TaskRoleArn": "task_role_arn",
    "ExecutionRoleArn": "execution_role_arn",
    "NetworkMode": "network_mode",
    "RequiresCompatibilities": "requires_compatibilities",
    "Cpu": "cpu",
    "RuntimePlatform": "runtime_platform",
}


def _register_whole_task_definitions() -> None:
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys
    from moto.ecs.models import TaskDefinition, ecs_backends

    def register(properties: dict[str, Any], account_id: str, region_name: str) -> Any:
        remapped = {
            name: remap_nested_keys(properties[key], pascal_to_camelcase) if isinstance(properties[key], dict)
            else properties[key]
            for key, name in _TASK_DEFINITION_PROPERTIES.items()
            if key in properties
        }  # fmt: skip
        return ecs_backends[account_id][region_name].register_task_definition(
            family=properties["Family"],
            container_definitions=remap_nested_keys(properties.get("ContainerDefinitions", []), pascal_to_camelcase),
            volumes=remap_nested_keys(properties.get("Volumes", []), pascal_to_camelcase),
            memory=properties.get("Memory"),
            **remapped,
        )

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        return register(cloudformation_json["Properties"], account_id, region_name)

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        # A new revision, as ECS makes for every change; the old one is deregistered, as CloudFormation does.
        ecs_backends[account_id][region_name].deregister_task_definition(original_resource.arn)
        return register(cloudformation_json["Properties"], account_id, region_name)

    TaskDefinition.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]
    TaskDefinition.update_from_cloudformation_json = classmethod(update)  # type: ignore[method-assign,assignment]


def _run_fargate_containers() -> None:
    """moto records a task but runs no container (no Docker engine). For each Fargate task it starts, the emulator
    runs what the consumer image runs (runtime/Dockerfile: `python -m consumer_app` and the container's command) in a
    local Python process, with the task definition's environment and the task role's credentials; it writes what
    the process prints to the task's awslogs stream with the execution role's credentials, and gives the container
    its exit code. The test step then reads the task back through the same calls as in AWS."""
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend.run_task
    requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements

    def fargate_requirements(task_definition: Any) -> dict[str, Any]:
        # moto adds up the containers' memory, which a Fargate task sets for the task, not per container.
        if "FARGATE" not in (task_definition.requires_compatibilities or []):
            return requirements(task_definition)
        return {"CPU": int(task_definition.cpu or 0), "MEMORY": int(task_definition.memory or 0), "PORTS": [],
                "PORTS_UDP": []}  # fmt: skip

    def run_task(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        tasks = original(self, *args, **kwargs)
        for task in tasks:
            if _serving and "FARGATE" in (task.launch_type, task.capacity_provider_name):
                _run_container(self, task)
        return tasks

    EC2ContainerServiceBackend.run_task = run_task  # type: ignore[method-assign]  # a patch of moto's class
    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(fargate_requirements)  # type: ignore[method-assign]


def mend_default_security_groups() -> None:
    """RunTask without security groups uses the default security group of the subnets' VPC (AwsVpcConfiguration);
    moto requires them: name that group for it. Patches moto once per process (the step's tests use it too)."""
    from moto.ec2.models import ec2_backends
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend.run_task
    if getattr(original, "mended_security_groups", False):
        return

    signature = inspect.signature(original)

    def run_task(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        network = signature.bind(self, *args, **kwargs).arguments.get("networking_configuration")
        configuration = (network or {}).get("awsvpcConfiguration")
        if configuration and configuration.get("subnets") and not configuration.get("securityGroups"):
            ec2 = ec2_backends[self.account_id][self.region_name]
            vpc = ec2.get_subnet(configuration["subnets"][0]).vpc_id
            group = ec2.get_default_security_group(vpc)
            configuration["securityGroups"] = [group.id] if group else []
        return original(self, *args, **kwargs)

    run_task.mended_security_groups = True  # type: ignore[attr-defined]
    EC2ContainerServiceBackend.run_task = run_task  # type: ignore[method-assign]  # a patch of moto's class


def runtime_path() -> str:
    """PYTHONPATH of a local stand-in of a function or container: the runtime code, and the emulator's
    sitecustomize (tools/rehearsal/hosts: *.localhost is this machine)."""
    return os.pathsep.join((str(RUNTIME_DIR), str(Path(hosts.__file__).parent)))


# What the local "container" inherits from this machine: enough to start Python, nothing a real task would lack.
# The instant the runtime's self-check judges the grants' ends at, where the rehearsal moves it past one (the hosts'
# sitecustomize reads it): the stand-ins of the containers take it too.
REHEARSAL_AT = "REHEARSAL_AT"
_HOST_VARIABLES = ("PATH", "HOME", "LANG", "SYSTEMROOT", REHEARSAL_AT)
_CONTAINER_SECONDS = 120


def _run_container(backend: Any, task: Any) -> None:
    region = backend.region_name
    definition = backend.describe_task_definition(task.task_definition_arn)
    container = definition.container_definitions[0]
    variables = {item["name"]: item["value"] for item in container.get("environment", [])}
    task_role = issue(definition.task_role_arn, region, "ecs-task")
    environment = {
        **{k: os.environ[k] for k in _HOST_VARIABLES if k in os.environ},
        **variables,
        **task_role,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "PYTHONPATH": runtime_path(),
    }
    try:
        result = subprocess.run(
            [sys.executable, "-m", "consumer_app", *(container.get("command") or ["self-check"])],
            env=environment,
            capture_output=True,
            text=True,
            timeout=_CONTAINER_SECONDS,
        )
    except subprocess.TimeoutExpired:
        # The emulator stops it; the step sees a task whose container has no exit code, and why.
        task.stopped_reason = f"the emulator stopped the container after {_CONTAINER_SECONDS} s"
        for model in task.containers:
            model.exitCode = None
        return
    options = container.get("logConfiguration", {}).get("options", {})
    if options.get("awslogs-group"):
        logs = boto3.client(
            "logs",
            region_name=region,
            **{_CLIENT_ARGUMENT[k]: v for k, v in issue(definition.execution_role_arn, region, "ecs-agent").items()},
        )
        stream = f"{options['awslogs-stream-prefix']}/{container['name']}/{task.task_arn.rsplit('/', 1)[-1]}"
        logs.create_log_stream(logGroupName=options["awslogs-group"], logStreamName=stream)
        lines = (result.stdout + result.stderr).splitlines() or [""]
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=options["awslogs-group"],
            logStreamName=stream,
            logEvents=[{"timestamp": now, "message": line} for line in lines],
        )
    for model in task.containers:
        model.exitCode = result.returncode


_CLIENT_ARGUMENT = {
    "AWS_ACCESS_KEY_ID": "aws_access_key_id",
    "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
    "AWS_SESSION_TOKEN": "aws_session_token",
}


def _mend_deletion_policies() -> None:
    """moto keeps only resources marked Retain when a stack is deleted; RetainExceptOnCreate is Retain for every
    stack operation but the failed create of the resource (CloudFormation's DeletionPolicy documentation)."""
    from moto.cloudformation.parsing import ResourceMap

    original = ResourceMap.delete

    def delete(self: ResourceMap) -> None:
        for resource in self._resource_json_map.values():
            if resource.get("DeletionPolicy") == "RetainExceptOnCreate":
                resource["DeletionPolicy"] = "Retain"
        original(self)

    ResourceMap.delete = delete  # type: ignore[method-assign]  # a patch of moto's class


def _attach_roles_managed_policies() -> None:
    """moto's CloudFormation ignores an AWS::IAM::Role's ManagedPolicyArns, so the bootstrap's execution role would
    hold no policy: doctor reads that role's policies, as AWS answers them. Attached on create and update, detached
    before the role is deleted, as CloudFormation's handler does."""
    from moto.iam.models import Role, iam_backends
    from moto.utilities.utils import get_partition

    def sync(role: Role, arns: list[str], account_id: str, region_name: str) -> None:
        backend = iam_backends[account_id][get_partition(region_name)]
        known = {policy.arn for policy in backend.managed_policies.values()}
        for arn in set(role.managed_policies) - set(arns):
            if arn in known:
                backend.detach_role_policy(arn, role.name)
            else:
                del role.managed_policies[arn]
        for arn in arns:
            if arn in role.managed_policies:
                continue
            if arn in known:
                backend.attach_role_policy(arn, role.name)
            else:  # an AWS managed policy (AdministratorAccess): moto loads none unless asked; listed by name only
                role.managed_policies[arn] = SimpleNamespace(arn=arn, name=arn.rsplit("/", 1)[-1])  # type: ignore[assignment]

    created, updated = Role.create_from_cloudformation_json, Role.update_from_cloudformation_json  # bound to Role

    def create(cls: Any, name: str, template: dict[str, Any], account_id: str, region_name: str, **kwargs: Any) -> Role:
        role = created(name, template, account_id, region_name, **kwargs)
        sync(role, template["Properties"].get("ManagedPolicyArns", []), account_id, region_name)
        return role

    def update(
        cls: Any, original: Role, name: str, template: dict[str, Any], account_id: str, region_name: str
    ) -> Role:
        role = updated(original, name, template, account_id, region_name)
        sync(role, template["Properties"].get("ManagedPolicyArns", []), account_id, region_name)
        return role

    deleted = Role.delete_from_cloudformation_json

    def delete(cls: Any, name: str, template: dict[str, Any], account_id: str, region_name: str) -> None:
        # CloudFormation's handler detaches a role's managed policies before deleting it, as IAM requires.
        role = iam_backends[account_id][get_partition(region_name)].roles.values()
        for found in [r for r in role if r.name == name]:
            sync(found, [], account_id, region_name)
        deleted(name, template, account_id, region_name)

    Role.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]
    Role.delete_from_cloudformation_json = classmethod(delete)  # type: ignore[method-assign,assignment]
    Role.update_from_cloudformation_json = classmethod(update)  # type: ignore[method-assign,assignment]


def _mend_kms_keys() -> None:
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]  # the classmethod's function

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = dict(cloudformation_json["Properties"])
        # CloudFormation writes tags as Key/Value and the key policy as an object; moto's KMS expects
        # TagKey/TagValue and a JSON string.
        properties["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties.get("Tags", [])]
        if not isinstance(properties.get("KeyPolicy"), str):
            properties["KeyPolicy"] = json.dumps(properties["KeyPolicy"])
        return original(
            cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs
        )

    # A patch of moto's class, which mypy cannot follow.
    Key.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[method-assign,assignment]


def _add_global_tables() -> None:
    """moto's CloudFormation knows AWS::DynamoDB::Table but not AWS::DynamoDB::GlobalTable (what TableV2
    synthesizes): create the replica of the stack's region as a table, with its resource policy."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import Table

    if "AWS::DynamoDB::GlobalTable" in parsing.get_model_map():
        return

    class GlobalTable(CloudFormationModel):
        @staticmethod
        def cloudformation_name_type() -> str:
            return "TableName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::DynamoDB::GlobalTable"

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
            properties = cloudformation_json["Properties"]
            replica = next(r for r in properties["Replicas"] if r["Region"] == region_name)
            table = {
                key: properties[key]
                for key in (
                    "KeySchema",
                    "AttributeDefinitions",
                    "GlobalSecondaryIndexes",
                    "LocalSecondaryIndexes",
                    "StreamSpecification",
                    "BillingMode",
                )
                if key in properties
            }
            table["Tags"] = replica.get("Tags", [])
            table["DeletionProtectionEnabled"] = replica.get("DeletionProtectionEnabled", False)
            table["SSESpecification"] = {
                **properties.get("SSESpecification", {}),
                **replica.get("SSESpecification", {}),
            }
            created = Table.create_from_cloudformation_json(
                resource_name, {"Properties": table}, account_id, region_name, **kw
            )
            # The replica's resource policy (moto's Table takes none from a template): held for the enforcement.
            document = (replica.get("ResourcePolicy") or {}).get("PolicyDocument")
            if document:
                dynamodb_backends[account_id][region_name].put_resource_policy(
                    created.table_arn, json.dumps(document), None
                )
            return created

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            Table.delete_from_cloudformation_json(resource_name, cloudformation_json, account_id, region_name)

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def _mend_log_group_arns() -> None:
    """CloudFormation's Fn::GetAtt of a log group's Arn ends in ":*" (arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*),
    which the CDK's grants name so that the log group's streams match; moto's lacks it, and the enforcement would
    refuse the writes of every stream."""
    from moto.logs.models import LogGroup

    original = LogGroup.get_cfn_attribute
    if getattr(original, "mended", False):
        return

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        value = original(self, attribute_name)
        return f"{value}:*" if attribute_name == "Arn" and not str(value).endswith(":*") else value

    get_cfn_attribute.mended = True  # type: ignore[attr-defined]
    LogGroup.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]


def _add_bucket_policies() -> None:
    """moto's CloudFormation skips AWS::S3::BucketPolicy (a stack's buckets would have none): write it with moto's S3
    API on create and update, and delete it with the stack, as CloudFormation does, for the enforcement to read."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket, s3_backends

    if "AWS::S3::BucketPolicy" in parsing.get_model_map():
        return

    # moto's own check of a bucket policy on object requests ignores its conditions: the TLS-only Deny every bucket of
    # the project (and the CDK's staging bucket) has would refuse every request. The enforcement decides instead.
    def no_own_check(self: FakeBucket, action: str, resource: str) -> Any:
        return PermissionResult.NEUTRAL

    FakeBucket.get_permission = no_own_check  # type: ignore[method-assign]

    class BucketPolicy(CloudFormationModel):
        def __init__(self, bucket: str) -> None:
            self.bucket = bucket

        @property
        def physical_resource_id(self) -> str:
            return self.bucket

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::S3::BucketPolicy"

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
            properties = cloudformation_json["Properties"]
            document = json.dumps(properties["PolicyDocument"]).encode()
            s3_backends[account_id]["aws"].put_bucket_policy(properties["Bucket"], document)
            return cls(properties["Bucket"])

        @classmethod
        def update_from_cloudformation_json(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        ):
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)  # type: ignore[no-untyped-call]

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            bucket = cloudformation_json["Properties"]["Bucket"]
            if bucket in s3_backends[account_id]["aws"].buckets:
                s3_backends[account_id]["aws"].delete_bucket_policy(bucket)

        def delete(self, account_id: str, region_name: str) -> None:
            if self.bucket in s3_backends[account_id]["aws"].buckets:
                s3_backends[account_id]["aws"].delete_bucket_policy(self.bucket)

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def _add_access_points() -> None:
    """moto's CloudFormation has no AWS::S3::AccessPoint: create it in moto's S3 Control, with its policy (which moto
    does not enforce), and give its Alias and Arn as CloudFormation does."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel
    from moto.s3control import s3control_backends

    if "AWS::S3::AccessPoint" in parsing.get_model_map():
        return

    class AccessPoint(CloudFormationModel):
        def __init__(self, model: Any, account_id: str, region_name: str) -> None:
            self.model = model
            self.name: str = model.name
            # moto writes us-east-1 into every access point's ARN: the ARN the region gives it.
            self.arn = f"arn:aws:s3:{region_name}:{account_id}:accesspoint/{model.name}"

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @staticmethod
        def cloudformation_name_type() -> str:
            return "Name"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::S3::AccessPoint"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("Alias", "Arn", "Name")

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            return {"Alias": self.model.alias, "Arn": self.arn, "Name": self.name}[attribute_name]

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
            properties = cloudformation_json["Properties"]
            backend = s3control_backends[account_id]["aws"]
            model = backend.create_access_point(
                account_id=account_id,
                name=properties["Name"],
                bucket=properties["Bucket"],
                vpc_configuration=properties.get("VpcConfiguration") or {},
                public_access_block_configuration=properties.get("PublicAccessBlockConfiguration") or {},
            )
            if properties.get("Policy"):
                model.set_policy(json.dumps(properties["Policy"]))
            return cls(model, account_id, region_name)

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            s3control_backends[account_id]["aws"].delete_access_point(account_id, resource_name)

        def delete(self, account_id: str, region_name: str) -> None:
            s3control_backends[account_id]["aws"].delete_access_point(account_id, self.name)

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def _add_catalogs() -> None:
    """moto's CloudFormation has no AWS::Glue::Database, AWS::Glue::Table or AWS::Athena::WorkGroup (its Glue and
    Athena APIs have them): create them there from the templates. And moto's Athena runs no SQL: a query whose
    workgroup enforces a results location gets that location (as in AWS), one that names a table the account's
    catalog does not have is refused with Athena's TABLE_NOT_FOUND at start (AWS starts it, then fails it), and
    DuckDB runs the others over the tables' objects (tools/rehearsal/sql.py), whose results Athena then answers."""
    from moto.athena.models import AthenaBackend, QueryResults, athena_backends
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel
    from moto.core.exceptions import JsonRESTError
    from moto.glue.models import glue_backends

    if "AWS::Glue::Database" in parsing.get_model_map():
        return

    class _Named:  # not a model itself: moto finds models among CloudFormationModel's direct subclasses
        def __init__(self, name: str) -> None:
            self.name = name

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @staticmethod
        def cloudformation_name_type() -> str:
            return "Name"

    class Database(_Named, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Glue::Database"

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
            given = cloudformation_json["Properties"]["DatabaseInput"]
            glue_backends[account_id][region_name].create_database(given["Name"], given)
            return cls(given["Name"])

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            if resource_name in glue_backends[account_id][region_name].databases:
                glue_backends[account_id][region_name].delete_database(resource_name)

    class Table(_Named, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Glue::Table"

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
            properties = cloudformation_json["Properties"]
            given = properties["TableInput"]
            glue_backends[account_id][region_name].create_table(properties["DatabaseName"], given["Name"], given)
            return cls(f"{properties['DatabaseName']}|{given['Name']}")

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            database, table = resource_name.split("|", 1)
            # moto's CloudFormation may delete the database first, which in Glue deletes its tables too.
            if table in getattr(glue_backends[account_id][region_name].databases.get(database), "tables", {}):
                glue_backends[account_id][region_name].delete_table(database, table)

    class WorkGroup(_Named, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Athena::WorkGroup"

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
            properties = cloudformation_json["Properties"]
            athena_backends[account_id][region_name].create_work_group(
                properties["Name"],
                properties.get("WorkGroupConfiguration") or {},
                properties.get("Description", ""),
                properties.get("Tags") or [],
            )
            return cls(properties["Name"])

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            athena_backends[account_id][region_name].delete_work_group(resource_name)

    start = AthenaBackend.start_query_execution

    def start_query_execution(self: AthenaBackend, query, context, config, workgroup, execution_parameters):
        if not _serving:  # moto as it is, for whoever uses it in this process outside a rehearsal
            return start(self, query, context, config, workgroup, execution_parameters)
        group = self.work_groups.get(workgroup)
        enforced = group.configuration if group is not None else {}
        if enforced.get("EnforceWorkGroupConfiguration") or not config:
            config = dict(enforced.get("ResultConfiguration") or config or {})
        for database, table in TABLE_REFERENCE.findall(query):
            catalog = glue_backends[self.account_id][self.region_name].databases
            if table not in getattr(catalog.get(database), "tables", {}):
                raise JsonRESTError(
                    "InvalidRequestException",
                    f"TABLE_NOT_FOUND: Table 'awsdatacatalog.{database}.{table}' does not exist",
                )
        try:
            result_set = sql.run(query, _tables_read(self.account_id, self.region_name, query))
        except sql.QueryError as error:
            # AWS starts such a query and fails it with the engine's reason; the self-check reports either.
            raise JsonRESTError("InvalidRequestException", f"the rehearsal's SQL engine (DuckDB): {error}") from None
        execution_id = start(self, query, context, config, workgroup, execution_parameters)
        self.query_results[execution_id] = QueryResults(
            rows=result_set["Rows"], column_info=result_set["ResultSetMetadata"]["ColumnInfo"]
        )
        self._store_query_result_in_s3(execution_id)  # moto's own: the results as CSV at the output location
        return execution_id

    AthenaBackend.start_query_execution = start_query_execution  # type: ignore[method-assign]
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def _tables_read(
    account: str, region: str, query: str
) -> dict[tuple[str, str], tuple[dict[str, Any], dict[str, bytes]]]:
    """Each table the query names, as the account's catalog describes it, with the objects Athena would read of it
    (the location's bucket, or the bucket behind an access point's alias, in whichever emulated account holds it)."""
    from moto.glue.models import glue_backends
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    catalog = glue_backends[account][region]
    tables = {}
    for database, name in TABLE_REFERENCE.findall(query):
        described = catalog.get_table(database, name).as_dict()
        location = described.get("StorageDescriptor", {}).get("Location", "")
        bucket_name = location.removeprefix("s3://").split("/", 1)[0]
        try:
            bucket = s3_backends[account]["aws"].get_bucket(access_point_bucket(bucket_name) or bucket_name)
        except MissingBucket:
            raise sql.QueryError(f"the table's location {location or '(none)'}: the bucket does not exist") from None
        keys = list(bucket.keys.keys())
        if bucket_name != bucket.name:  # by the alias: the same keys, under the bucket's name
            location = location.replace(f"s3://{bucket_name}/", f"s3://{bucket.name}/", 1)
        loaded = None
        if described.get("PartitionKeys"):
            loaded = [
                p.partition_input.get("StorageDescriptor", {}).get("Location", "").replace(bucket_name, bucket.name, 1)
                for p in catalog.get_partitions(database, name, "")
            ]
        prefix = location.removeprefix(f"s3://{bucket.name}/")
        objects = {key: bucket.keys[f"{prefix}{key}"].value for key in sql.read_by_athena(location, keys, loaded)}
        tables[(database, name)] = (described, objects)
    return tables


TABLE_REFERENCE = sql.TABLE_REFERENCE


def access_point_bucket(name: str) -> str | None:
    """The bucket behind a name S3 would route to an access point: NAME-ACCOUNT (the host of a request that names
    the access point by its ARN) or the access point's alias."""
    found = iam_requests.access_point_named(name)
    return str(found[1].bucket) if found is not None else None


def _serve_access_points() -> None:
    """A request through an access point goes to NAME-ACCOUNT.s3-accesspoint.REGION... in AWS, and to
    NAME-ACCOUNT.localhost:PORT here (tools/rehearsal/hosts resolves *.localhost to this machine): moto serves it
    from the access point's bucket, in whichever account it is, as S3 does. moto only knows access points by their
    s3-accesspoint host in the signer's own account, and aliases not at all."""
    from moto.s3.responses import S3Response

    original = S3Response.parse_bucket_name_from_url
    if getattr(original, "mended_access_points", False):
        return

    def parse_bucket_name_from_url(self: Any, request: Any, url: str) -> str:
        name: str = original(self, request, url)
        return (access_point_bucket(name) or name) if name else name

    parse_bucket_name_from_url.mended_access_points = True  # type: ignore[attr-defined]
    S3Response.parse_bucket_name_from_url = parse_bucket_name_from_url  # type: ignore[method-assign]


@dataclass(frozen=True)
class Credentials:
    account: str
    access_key_id: str
    secret_access_key: str
    session_token: str

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }

    def session(self, region: str) -> boto3.Session:
        session: boto3.Session = new_session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
            region_name=region,
        )
        return session


class Emulator:
    def __init__(self, *, enforce: bool = False, organizations: dict[str, str] | None = None) -> None:
        """enforce: decide every request of an emulated principal by the policies the emulator holds
        (tools/rehearsal/enforcement.py); organizations: each account's organization id, for aws:PrincipalOrgID."""
        _mend_moto()
        self.enforcer: Enforcer | None = Enforcer(iam_requests.DECIDED, organizations) if enforce else None
        # The emulator's request log and its notes on resource types it skips (AWS::S3::BucketPolicy,
        # AWS::CDK::Metadata) are not the rehearsal's output.
        for noisy in ("werkzeug", "moto"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        # The server's tracebacks of requests it has no backend for (CodeConnections): the caller gets a 500 and says
        # so in its own words.
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        warnings.filterwarnings("ignore", module=r"moto\.")
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)

    def __enter__(self) -> Emulator:
        self._server.start()
        _host, port = self._server.get_host_and_port()
        # "localhost", not 127.0.0.1: moto reads a leading "127" of a template URL as a bucket name.
        self.endpoint = f"http://localhost:{port}"
        # moto keeps its accounts in this process's memory: start every rehearsal from empty accounts.
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"), timeout=10)
        stack_sets.reset()
        # Every client this process builds from here on talks to the emulator, never to AWS.
        self._saved_endpoint = os.environ.get("AWS_ENDPOINT_URL")
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint
        global _serving
        _serving = True
        enforcement.activate(self.enforcer)
        return self

    def __exit__(self, *exc: Any) -> None:
        global _serving
        _serving = False
        enforcement.activate(None)
        if self.enforcer is not None:
            self.enforcer.close()
        if self._saved_endpoint is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = self._saved_endpoint
        self._server.stop()

    def credentials(
        self, role_arn: str, *, session_name: str = "rehearsal", via: Credentials | None = None
    ) -> Credentials:
        """Credentials of a role; moto makes them act in the role's account."""
        client = boto3.client(
            "sts",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            **(
                {
                    "aws_access_key_id": via.access_key_id,
                    "aws_secret_access_key": via.secret_access_key,
                    "aws_session_token": via.session_token,
                }
                if via
                else {"aws_access_key_id": "rehearsal", "aws_secret_access_key": "rehearsal"}
            ),
        )
        issued = client.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        return Credentials(
            account=role_arn.split(":")[4],
            access_key_id=issued["AccessKeyId"],
            secret_access_key=issued["SecretAccessKey"],
            session_token=issued["SessionToken"],
        )

    def administrator(self, account: str) -> Credentials:
        """Stands for the person who bootstraps an account (an administrator of that account)."""
        return self.credentials(f"arn:aws:iam::{account}:role/rehearsal-administrator")
