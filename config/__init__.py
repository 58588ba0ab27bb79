"""Configuration: one YAML file parsed into typed, immutable objects and validated before any construct exists."""

from config.loader import ConfigError, load_config, load_config_or_report
from config.model import (
    AccountRegion,
    CodeCommitRepository,
    Config,
    ConnectionRepository,
    Consumer,
    Environment,
    Notifications,
    Share,
)

__all__ = [
    "AccountRegion",
    "CodeCommitRepository",
    "Config",
    "ConfigError",
    "ConnectionRepository",
    "Consumer",
    "Environment",
    "Notifications",
    "Share",
    "load_config",
    "load_config_or_report",
]
