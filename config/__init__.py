"""Configuration: one YAML file parsed into typed, immutable objects and validated before any construct exists."""

from config.loader import DEFAULT_CONFIG, ConfigError, load_config, load_config_or_report
from config.model import (
    AccountRegion,
    CodeCommitRepository,
    Config,
    ConnectionRepository,
    Consumer,
    Dataset,
    DatasetBucket,
    DatasetTable,
    Environment,
    Notifications,
)

__all__ = [
    "DEFAULT_CONFIG",
    "AccountRegion",
    "CodeCommitRepository",
    "Config",
    "ConfigError",
    "ConnectionRepository",
    "Consumer",
    "Dataset",
    "DatasetBucket",
    "DatasetTable",
    "Environment",
    "Notifications",
    "load_config",
    "load_config_or_report",
]
