"""The project's own CDK bootstrap in each target account: the execution policies CloudFormation acts with and the
permissions boundary every role of the stacks carries (policies.py), written by make bootstrap."""
