"""Operator tools: what people and pipeline steps run (summaries, checks, the local rehearsal)."""
