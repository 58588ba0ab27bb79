"""Everything the config alone tells before the CDK builds anything, in a fraction of a second: one call, made by the
app builder (pipeline/app.py build_app) and by `make validate` (tools/validate.py), that raises ConfigError (one line
for the user: PipelineTooLarge, ExtensionError and BoundaryStatementError are kinds of it)."""

from __future__ import annotations

from config.model import Config
from pipeline import capacity
from stacks.extensions import check_registered

# What a config has passed once preflight returns, in the order checked.
CHECKS = (
    "the schema: every field, account id, region and name (config/loader.py, at load)",
    "every physical name unique in its account, and buckets' worldwide (config/physical_names.py, at load)",
    "CodePipeline's stages and actions per pipeline, and the artifact grants to the deployment roles",
    "the permissions boundary within a managed policy, with the statements of EXTENSION_BOUNDARY",
    "each consumer's policy within IAM's quotas and its function's environment within Lambda's 4 KB",
    "access points per source account and region within S3's 10,000, and grants per existing key within KMS's 50,000",
    "every workload the config lists registered in extensions/",
)


def preflight(config: Config, consumers_per_wave: int = capacity.CONSUMERS_PER_WAVE) -> tuple[str, ...]:
    """Runs the checks of CHECKS that loading the config has not (those of pipeline/capacity.py, then the workloads'
    registration) and returns CHECKS."""
    capacity.within_one_pipeline(config, consumers_per_wave)
    if any(consumer.workloads for environment in config.environments for consumer in environment.consumers):
        import extensions  # noqa: F401  (its modules register the workloads; they load the CDK, so only when listed)
    check_registered(config)
    return CHECKS
