"""The access report: every cross-account access path of a config, evaluated offline from the synthesized
templates with an independent IAM policy engine (@cloud-copilot/iam-simulate)."""
