"""The consumer's runtime code: what runs in the Lambda function and the ECS task of a consumer account.

It imports nothing from the infrastructure code; everything it needs arrives as environment variables.
"""
