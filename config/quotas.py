"""The AWS quotas the project checks a config against, each once, with where AWS states it. Everything that measures
against a quota (pipeline/capacity.py before synth, checks/limits.py and checks/service_limits.py at synth,
config/model.py and bootstrap/policies.py, tools/bench) imports it from here.

Where a quota can be raised, the value is the default, and the config says when it is not (trust_policy_quota).
"""

from __future__ import annotations

# Amazon S3 User Guide, "Bucket policy examples" / Amazon S3 quotas: a bucket policy is at most 20 KB.
S3_BUCKET_POLICY_CHARACTERS = 20 * 1024
# Amazon S3 User Guide, "Access points restrictions and limitations": an access point policy is at most 20 KB, and an
# account has at most 10,000 access points per region.
S3_ACCESS_POINT_POLICY_CHARACTERS = 20 * 1024
S3_ACCESS_POINTS_PER_REGION = 10_000
# AWS KMS Developer Guide, "Quotas" (resource quotas): at most 50,000 grants per key.
KMS_GRANTS_PER_KEY = 50_000
# AWS KMS Developer Guide, "Quotas": a key policy document is at most 32 KB.
KMS_KEY_POLICY_CHARACTERS = 32 * 1024
# Amazon DynamoDB Developer Guide, "Resource-based policy considerations": at most 20 KB.
DYNAMODB_RESOURCE_POLICY_CHARACTERS = 20 * 1024
# IAM User Guide, "IAM and AWS STS quotas": inline policies of a role together 10,240 characters; a managed policy
# 6,144; a role trust policy 2,048 by default (raisable to 4,096); 10 managed policies per role by default (20).
IAM_ROLE_INLINE_POLICIES_CHARACTERS = 10 * 1024
IAM_MANAGED_POLICY_CHARACTERS = 6 * 1024
IAM_TRUST_POLICY_CHARACTERS = 2048
IAM_TRUST_POLICY_CHARACTERS_RAISED = 4096
IAM_MANAGED_POLICIES_PER_ROLE = 10
# AWS Lambda Developer Guide, "Lambda quotas": environment variables 4 KB in all; a function runs 900 s at most.
LAMBDA_ENVIRONMENT_BYTES = 4096
LAMBDA_TIMEOUT_SECONDS = 900
# AWS CloudFormation User Guide, "CloudFormation quotas": 500 resources per stack; a template read from S3, as
# CodePipeline's deploy actions read theirs, 1 MB.
CLOUDFORMATION_RESOURCES = 500
CLOUDFORMATION_TEMPLATE_BYTES = 1_000_000
# AWS::CloudFormation::StackSet (its resource schema; CodePipeline's StackSet actions state the same): a stack set's
# template from S3 is at most 460,800 bytes.
CLOUDFORMATION_STACK_SET_TEMPLATE_BYTES = 460_800
# AWS CodePipeline User Guide, "Quotas in AWS CodePipeline": 50 stages per pipeline, 50 actions per stage, an action
# configuration value 1,000 characters (aws/aws-cdk#17067 ran into it).
CODEPIPELINE_STAGES = 50
CODEPIPELINE_ACTIONS_PER_STAGE = 50
CODEPIPELINE_CONFIGURATION_VALUE_CHARACTERS = 1000
# Not documented by CodeBuild: StartBuild has been reported to refuse an environment variable value past 4,096.
CODEBUILD_ENVIRONMENT_VALUE_CHARACTERS = 4096
# Amazon S3 User Guide, "General purpose bucket naming rules": prefixes and suffixes S3 reserves.
S3_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3")

# Amazon API Gateway Developer Guide, "Amazon API Gateway quotas": per account and region, 10,000 requests per second
# with a burst of 5,000 across all its APIs; a REST API's resource policy at most 8,192 characters.
APIGATEWAY_ACCOUNT_RATE = 10_000
APIGATEWAY_ACCOUNT_BURST = 5_000
APIGATEWAY_RESOURCE_POLICY_CHARACTERS = 8192
