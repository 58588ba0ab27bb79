"""Every physical name the config makes, checked for uniqueness before anything is built: where two parts of the config
would give one name (a dataset named `shared` beside the default dataset's table PROJECT-ENV-shared; environment `a`
with dataset `b-c` and environment `a-b` with dataset `c` in one source account), CloudFormation would fail the deploy
(the name exists) or, for a bucket, S3 would answer BucketAlreadyExists. Buckets are unique across all of S3; tables,
key aliases, functions and log groups per account and region; roles per account."""

from __future__ import annotations

from config.model import Config
from config.naming import Names


class NameCollision(ValueError):
    pass


def check_unique(config: Config) -> None:
    """Raises NameCollision naming the name and both parts of the config that make it."""
    seen: dict[tuple[str, ...], str] = {}

    def claim(key: tuple[str, ...], owner: str) -> None:
        if key in seen and seen[key] != owner:
            kind, name = key[0], key[-1]
            raise NameCollision(f"{owner} and {seen[key]} both make the {kind} {name}: rename one of them")
        seen.setdefault(key, owner)

    for e, environment in enumerate(config.environments):
        names = Names.of(config, environment)
        source = environment.source
        where = f"environments[{e}]"
        owns_bucket = False
        for d, dataset in enumerate(environment.datasets):
            n = names.dataset(dataset)
            owner = f"{where}.datasets[{d}] ({environment.name}/{dataset.name})"
            if n.owns_bucket:
                owns_bucket = True
                claim(("bucket", n.bucket or ""), owner)
            if n.owns_table:
                claim(("table", source.account, source.region, n.table or ""), owner)
            if n.has_key:
                claim(("key alias", source.account, source.region, n.key_alias), owner)
            if n.has_api:
                claim(("table", source.account, source.region, n.api), owner)
                claim(("function", source.account, source.region, n.api_function), owner)
                claim(("role", source.account, n.api_function), owner)
                for group in (n.api_function, n.api_access_logs):
                    claim(("log group", source.account, source.region, group), owner)
        if owns_bucket:
            claim(("bucket", names.access_logs_bucket), f"{where} ({environment.name}'s access logs)")
        fixed = f"{where} ({environment.name})"
        claim(("function", source.account, source.region, names.canary_function), fixed)
        claim(("log group", source.account, source.region, names.canary_log_group), fixed)
        claim(("role", source.account, names.canary_role), fixed)
        for c, consumer in enumerate(environment.consumers):
            owner = f"{where}.consumers[{c}] ({environment.name}/{consumer.name})"
            claim(("role", source.account, names.source_role(consumer)), owner)
            if names.key_grant_datasets(environment, consumer):
                grants = names.key_grants(consumer)
                claim(("role", source.account, grants), owner)
                claim(("function", source.account, source.region, grants), owner)
                claim(("log group", source.account, source.region, grants), owner)
            located = names.looks_up(environment, consumer)
            if located:
                claim(("role", source.account, names.locate_role(consumer)), owner)
            # Every consumer account of an environment has the same names: one account, one region per environment.
            ours = f"{where} ({environment.name}) in {consumer.account}"
            if located:
                claim(("role", consumer.account, names.consumer_locate_role), ours)
                claim(("function", consumer.account, consumer.region, names.consumer_locate_role), ours)
                claim(("log group", consumer.account, consumer.region, names.consumer_locate_role), ours)
            for workload in ("function", "task"):
                claim(("log group", consumer.account, consumer.region, names.consumer_log_group(workload)), ours)
            claim(("function", consumer.account, consumer.region, names.consumer_function), ours)
            for role in (*names.consumer_role_names, names.task_execution_role, names.proof_role):
                claim(("role", consumer.account, role), ours)
            catalog = names.catalog_datasets(environment, consumer)
            if catalog:
                claim(("bucket", names.query_results_bucket(consumer)), ours)
                claim(("workgroup", consumer.account, consumer.region, names.query_workgroup), ours)
                claim(("key alias", consumer.account, consumer.region, names.query_results_key_alias), ours)
            for n, _ in catalog:
                table = f"{names.catalog_database}.{n.catalog_table}"
                d = environment.datasets.index(n.dataset)
                claim(("Glue table", consumer.account, consumer.region, table), f"{where}.datasets[{d}].catalog")
