"""The grants that end by themselves, as make summary and make doctor list them: soonest first, those within
EXPIRY_WARNING_DAYS marked, with what to do."""

from __future__ import annotations

from datetime import datetime

from config.actions import aws_time
from config.model import EXPIRY_WARNING_DAYS, Environment


def expiring_lines(environment: Environment, now: datetime) -> list[str]:
    """The environment's grants that end by themselves, soonest first: those within EXPIRY_WARNING_DAYS marked."""
    lines = []
    for consumer, dataset, ends in sorted(environment.expiring(), key=lambda found: found[2]):
        days = (ends - now).total_seconds() / 86400
        soon = f"WARNING: ends in {days:.1f} days: " if days <= EXPIRY_WARNING_DAYS else ""
        lines.append(
            f"{soon}{consumer.name}'s grant of {dataset.name} ({consumer.grants[dataset.name].access}) ends at "
            f"{aws_time(ends)}"
            + (": renew it (a later until) or let it end; then take it out of the config" if soon else "")
        )
    return lines
