"""Who hears of the pipeline: failed runs and approvals waiting go to an encrypted SNS topic, through a
CodeStar Notifications rule."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from config.model import service_endpoint

EVENTS = (
    codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED,
    codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_NEEDED,
)


class PipelineNotifications(Construct):
    def __init__(self, scope: Construct, id: str, *, emails: Sequence[str]) -> None:
        super().__init__(scope, id)
        # The AWS-managed SNS key cannot be used by CodeStar Notifications: a key of our own lets the service
        # publish, and only through SNS.
        self.key = kms.Key(
            self,
            "Key",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            description="Pipeline notifications",
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CodeStarNotificationsPublish",
                principals=[iam.ServicePrincipal("codestar-notifications.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": service_endpoint("sns", self.key.stack.region)}},
            )
        )
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True)
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def watch(self, pipeline: codepipeline.Pipeline) -> None:
        pipeline.notify_on("Notify", self.topic, events=list(EVENTS))
