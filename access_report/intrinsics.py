"""Resolving CloudFormation intrinsics in the policy documents of a template to the strings AWS would see.

Supported: Ref (pseudo parameters, parameters given, resources), Fn::GetAtt ...Arn, Fn::Join, Fn::Sub,
Fn::If with Conditions (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition) and AWS::NoValue. Anything else
is an error naming where it stands: a policy that cannot be resolved is never silently skipped.

Physical names: resources with a fixed name use it; a role without one appears under its logical id; a KMS
key, whose id AWS assigns at creation, gets the stand-in id `stand-in-<logical id>`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from config.regions import dns_suffix

NO_VALUE = object()


class Unresolvable(Exception):
    pass


@dataclass
class Resolver:
    template: dict[str, Any]
    account: str
    region: str
    partition: str = "aws"
    stack_name: str = "stack"
    parameters: dict[str, Any] = field(default_factory=dict)
    where: str = "template"

    def resolve(self, value: Any, path: str = "") -> Any:
        if isinstance(value, list):
            items = [self.resolve(item, f"{path}[{i}]") for i, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument, path)
            if key == "Fn::GetAtt":
                return self._get_att(argument, path)
            if key == "Fn::Join":
                separator, parts = argument
                resolved = self.resolve(parts, path)
                return separator.join(str(part) for part in _flatten(resolved))
            if key == "Fn::Sub":
                return self._sub(argument, path)
            if key == "Fn::If":
                condition, when_true, when_false = argument
                return self.resolve(when_true if self.condition(condition) else when_false, path)
            if key.startswith("Fn::") or key == "Condition":
                raise Unresolvable(f"{self.where}: {path}: {key} is not supported")
        resolved = {k: self.resolve(v, f"{path}.{k}" if path else k) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise Unresolvable(f"{self.where}: unknown condition {name}")
        return self._truth(conditions[name], f"Conditions.{name}")

    def _truth(self, expression: Any, path: str) -> bool:
        ((key, argument),) = expression.items()
        if key == "Fn::Equals":
            left, right = (self.resolve(side, path) for side in argument)
            return bool(left == right)
        if key == "Fn::Not":
            return not self._truth(argument[0], path)
        if key == "Fn::And":
            return all(self._truth(item, path) for item in argument)
        if key == "Fn::Or":
            return any(self._truth(item, path) for item in argument)
        if key == "Condition":
            return self.condition(argument)
        raise Unresolvable(f"{self.where}: {path}: condition function {key} is not supported")

    def _ref(self, name: str, path: str) -> Any:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": dns_suffix(self.partition),
            "AWS::StackName": self.stack_name,
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.template.get("Parameters", {}):
            default = self.template["Parameters"][name].get("Default")
            if default is None:
                raise Unresolvable(f"{self.where}: {path}: parameter {name} has no value")
            if self.template["Parameters"][name].get("Type") == "CommaDelimitedList":
                return [item for item in str(default).split(",") if item]
            return default
        resource = self.template.get("Resources", {}).get(name)
        if resource is None:
            raise Unresolvable(f"{self.where}: {path}: Ref to unknown {name}")
        return self._physical_id(name, resource, path)

    def _physical_id(self, logical_id: str, resource: dict[str, Any], path: str) -> str:
        kind, properties = resource["Type"], resource.get("Properties", {})
        names = {
            "AWS::S3::Bucket": "BucketName",
            "AWS::DynamoDB::GlobalTable": "TableName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::IAM::Role": "RoleName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::CodeBuild::Project": "Name",
            "AWS::CodePipeline::Pipeline": "Name",
            "AWS::ECS::TaskDefinition": "Family",
        }
        if kind in ("AWS::KMS::Key", "AWS::ApiGateway::RestApi"):
            return f"stand-in-{logical_id}"
        if kind in names:
            name = properties.get(names[kind])
            return self.resolve(name, path) if name is not None else logical_id
        if kind == "AWS::IAM::ManagedPolicy":
            return f"arn:{self.partition}:iam::{self.account}:policy/{logical_id}"
        if kind == "AWS::SNS::Topic":  # a topic's Ref is its ARN
            name = self.resolve(properties.get("TopicName", logical_id), path)
            return f"arn:{self.partition}:sns:{self.region}:{self.account}:{name}"
        raise Unresolvable(f"{self.where}: {path}: Ref to {logical_id} ({kind}) has no known physical id")

    def _get_att(self, argument: Any, path: str) -> str:
        logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
        resource = self.template.get("Resources", {}).get(logical_id)
        if resource is not None and attribute == LOOKED_UP_ID:
            return self._looked_up_id(logical_id, resource, path)
        if resource is None or attribute != "Arn":
            raise Unresolvable(f"{self.where}: {path}: Fn::GetAtt {logical_id}.{attribute} is not supported")
        name = self._physical_id(logical_id, resource, path)
        p, r, a = self.partition, self.region, self.account
        arns = {
            "AWS::S3::Bucket": f"arn:{p}:s3:::{name}",
            "AWS::DynamoDB::GlobalTable": f"arn:{p}:dynamodb:{r}:{a}:table/{name}",
            "AWS::DynamoDB::Table": f"arn:{p}:dynamodb:{r}:{a}:table/{name}",
            "AWS::IAM::Role": f"arn:{p}:iam::{a}:role/{name}",
            "AWS::KMS::Key": f"arn:{p}:kms:{r}:{a}:key/{name}",
            "AWS::Lambda::Function": f"arn:{p}:lambda:{r}:{a}:function:{name}",
            "AWS::Logs::LogGroup": f"arn:{p}:logs:{r}:{a}:log-group:{name}:*",
            "AWS::CodeBuild::Project": f"arn:{p}:codebuild:{r}:{a}:project/{name}",
            "AWS::CodePipeline::Pipeline": f"arn:{p}:codepipeline:{r}:{a}:{name}",
        }
        if resource["Type"] not in arns:
            raise Unresolvable(
                f"{self.where}: {path}: Fn::GetAtt {logical_id}.Arn of {resource['Type']} is not supported"
            )
        return arns[resource["Type"]]

    def _looked_up_id(self, logical_id: str, resource: dict[str, Any], path: str) -> str:
        """A consumer stack's custom resource that reads a resource's physical id in the sharing stack
        (CloudFormation DescribeStackResource): the stand-in id of that resource, as a Ref to it there resolves."""
        create = self.resolve(resource.get("Properties", {}).get("Create"), path)
        call = json.loads(create) if isinstance(create, str) else {}
        if call.get("action") != "describeStackResource" or "LogicalResourceId" not in call.get("parameters", {}):
            raise Unresolvable(f"{self.where}: {path}: Fn::GetAtt {logical_id}.{LOOKED_UP_ID} reads nothing known")
        return f"stand-in-{call['parameters']['LogicalResourceId']}"

    def _sub(self, argument: Any, path: str) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {k: self.resolve(v, path) for k, v in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if "." in name:
                return self._get_att(name, path)
            resolved = self._ref(name, path)
            return ",".join(resolved) if isinstance(resolved, list) else str(resolved)

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)


# The attribute of a consumer stack's lookup of a sharing stack's resource (cdk_constructs/catalog.py, SourceLookups).
LOOKED_UP_ID = "StackResourceDetail.PhysicalResourceId"


def _flatten(values: Any) -> list[Any]:
    if isinstance(values, list):
        return [item for value in values for item in _flatten(value)]
    return [values]
