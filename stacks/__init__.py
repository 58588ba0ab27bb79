"""Stacks compose constructs (cdk_constructs/) into deployable units."""
