"""Operator commands for the steps outside the pipeline: bootstrap every account, check them (doctor), and
deploy the pipeline stack the first time."""
