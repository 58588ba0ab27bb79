"""The access matrix of a config: the cells of every environment's shared data, of bootstrap trust, and of the
bootstrap execution policy."""

from __future__ import annotations

from datetime import UTC, datetime

from access_report.bootstrap_trust import bootstrap_cells
from access_report.cells import Cell
from access_report.dataset_cells import environment_cells
from access_report.execution import execution_cells
from access_report.inputs import Inputs


def build(inputs: Inputs, at: datetime | None = None) -> list[Cell]:
    """Every cell of the config, as at that instant (default: now): a grant that has ended by then is expected
    refused."""
    at = at or datetime.now(UTC)
    cells: list[Cell] = []
    for environment in inputs.config.environments:
        cells += environment_cells(inputs, environment, at)
    cells += bootstrap_cells(inputs)
    cells += execution_cells(inputs)
    return cells
