"""Constructs that own resources; stacks compose them."""
