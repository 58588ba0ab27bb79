"""Who hears of the pipeline: failed runs and approvals waiting go to an encrypted SNS topic, through a
CodeStar Notifications rule."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codestarnotifications as codestarnotifications
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from config.regions import via_service_values

# CodeStar Notifications' event type ids for a pipeline: a failed run, an approval waiting.
EVENTS = ("codepipeline-pipeline-pipeline-execution-failed", "codepipeline-pipeline-manual-approval-needed")
SERVICE = "codestar-notifications.amazonaws.com"


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
                principals=[iam.ServicePrincipal(SERVICE)],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": via_service_values("sns", self.key.stack.region)}},
            )
        )
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True)
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def failed_builds(self, projects: list[str]) -> None:
        """A rule that tells the topic of these CodeBuild projects' builds that fail, stop or time out: the daily
        proofs', which publish drift themselves, but not a build that fails before its checks run (its source, its
        install, its role)."""
        message = (
            '"<project>: build <build> ended <status>. Where its checks ran and found drift, a message of its own '
            'names the consumers; without one, the build failed before its checks: see its log."'
        )
        rule = events.CfnRule(
            self,
            "FailedBuilds",
            description="The daily proofs' builds that did not pass",
            event_pattern={
                "source": ["aws.codebuild"],
                "detail-type": ["CodeBuild Build State Change"],
                "detail": {"build-status": ["FAILED", "STOPPED", "TIMED_OUT"], "project-name": projects},
            },
            targets=[
                events.CfnRule.TargetProperty(
                    id="Topic",
                    arn=self.topic.topic_arn,
                    input_transformer=events.CfnRule.InputTransformerProperty(
                        input_paths_map={
                            "project": "$.detail.project-name",
                            "build": "$.detail.build-id",
                            "status": "$.detail.build-status",
                        },
                        input_template=message,
                    ),
                )
            ],
        )
        # Only that rule may publish (the L2 target would admit any rule of any account), and through SNS only with the
        # topic's key.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="FailedBuildsPublish",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule.attr_arn}},
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgePublish",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": via_service_values("sns", self.key.stack.region)}},
            )
        )

    def watch(self, pipeline: codepipeline.Pipeline, *, name: str) -> None:
        """A rule that sends the pipeline's EVENTS to the topic. Made here rather than with pipeline.notify_on, whose
        grant to the service on the topic's key has no condition and would undo the "only through SNS" above."""
        rule = codestarnotifications.CfnNotificationRule(
            self,
            "Rule",
            name=name,
            detail_type="FULL",
            event_type_ids=list(EVENTS),
            resource=pipeline.pipeline_arn,
            targets=[
                codestarnotifications.CfnNotificationRule.TargetProperty(
                    target_type="SNS", target_address=self.topic.topic_arn
                )
            ],
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CodeStarNotificationsPublish",
                principals=[iam.ServicePrincipal(SERVICE)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                # Only the rules of this account may publish (the confused-deputy guard AWS recommends).
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        # The rule is checked against the topic's policy when it is created: the policy first.
        policy = self.topic.node.find_child("Policy")
        rule.node.add_dependency(policy)
