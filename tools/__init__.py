"""Operator tools: what people run (the local rehearsal, bootstrap, doctor, deploy, the summary, the benchmarks)."""
