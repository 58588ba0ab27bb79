"""cdk-nag findings on what CDK Pipelines generates in the tooling account, each acknowledged with its
reason. Only findings on constructs that CDK Pipelines itself creates are listed here; the project's own
resources fix their findings instead of acknowledging them.

The finding ids name CodeBuild projects by logical id, so they are computed from the built pipeline.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnElement, CfnResource, Stack, aws_codebuild, aws_lambda, pipelines

from cdk_constructs.findings import acknowledge

GRANT_ACTIONS = {
    "Action::s3:GetObject*": "CDK's read grant on the pipeline's own artifact bucket.",
    "Action::s3:GetBucket*": "CDK's read grant on the pipeline's own artifact bucket.",
    "Action::s3:List*": "CDK's read grant on the pipeline's own artifact bucket.",
    "Action::s3:DeleteObject*": "CDK's write grant on the pipeline's own artifact bucket.",
    "Action::s3:Abort*": "CDK's write grant on the pipeline's own artifact bucket (multipart uploads).",
    "Action::kms:GenerateDataKey*": "CDK's grant on the pipeline's own artifact key.",
    "Action::kms:ReEncrypt*": "CDK's grant on the pipeline's own artifact key.",
}


def acknowledge_pipeline_findings(stack: Stack, pipeline: pipelines.CodePipeline) -> None:
    account, region, partition = stack.account, stack.region, stack.partition
    artifacts = pipeline.pipeline.artifact_bucket
    artifacts_arn = f"<{stack.get_logical_id(cast(CfnElement, artifacts.node.default_child))}.Arn>"
    findings = {f"AwsSolutions-IAM5[{action}]": reason for action, reason in GRANT_ACTIONS.items()} | {
        f"AwsSolutions-IAM5[Resource::{artifacts_arn}/*]": "Objects of the pipeline's own artifact bucket.",
        "AwsSolutions-IAM5[Resource::*]": (
            "Actions that take no resource (cloudformation:DescribeStacks for self-mutation, codebuild "
            "StartBuild/BatchGetBuilds of the asset roles) as CDK Pipelines generates them."
        ),
        f"AwsSolutions-IAM5[Resource::arn:*:iam::{account}:role/*]": (
            "Self-mutation assumes the CDK bootstrap roles, restricted by CDK to roles tagged aws-cdk:bootstrap-role."
        ),
        f"AwsSolutions-IAM5[Resource::arn:{partition}:logs:{region}:{account}:log-group:/aws/codebuild/*]": (
            "Asset publishing projects write their own CodeBuild logs."
        ),
        f"AwsSolutions-IAM5[Resource::arn:{partition}:codebuild:{region}:{account}:report-group/*]": (
            "Asset publishing projects write their own CodeBuild test reports."
        ),
        "AwsSolutions-S1": (
            "Pipeline artifact buckets hold transient build outputs read only by the pipeline's roles; "
            "CloudTrail records their access."
        ),
    }
    for function in _resources_of(stack, aws_lambda.CfnFunction):
        # Only CDK Pipelines' own function lives here: ConfirmPermissionsBroadening's auto-approver.
        findings[f"AwsSolutions-IAM5[Resource::<{function}.Arn>:*]"] = (
            "The security check invokes versions of CDK Pipelines' own auto-approve function."
        )
        findings[
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"
        ] = "CDK Pipelines' auto-approve function writes its logs with the basic Lambda execution role."
    for project in _resources_of(stack, aws_codebuild.CfnProject):
        findings[
            f"AwsSolutions-IAM5[Resource::arn:{partition}:logs:{region}:{account}:log-group:/aws/codebuild/<{project}>:*]"
        ] = "The CodeBuild project's own log streams."
        findings[
            f"AwsSolutions-IAM5[Resource::arn:{partition}:codebuild:{region}:{account}:report-group/<{project}>-*]"
        ] = "The CodeBuild project's own report groups."
    for support in pipeline.pipeline.cross_region_support.values():
        replication = stack.resolve(support.replication_bucket.bucket_name)
        findings[f"AwsSolutions-IAM5[Resource::arn:{partition}:s3:::{replication}/*]"] = (
            "Objects of the pipeline's replication bucket in another region."
        )
    acknowledge(stack, findings)


def _resources_of(stack: Stack, kind: type[CfnResource]) -> list[str]:
    # isinstance, not CfnResource.is_cfn_resource: each of those is a call to the CDK's JavaScript process,
    # for every construct of the pipeline (thousands with a thousand consumers).
    return [stack.get_logical_id(node) for node in stack.node.find_all() if isinstance(node, kind)]
