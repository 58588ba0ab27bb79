"""Regions and partitions, from the endpoint data botocore ships (offline, and current with the installed SDK).

Read as JSON straight from botocore's data folder: importing botocore's session to ask it costs half a second,
which every command would pay before it can refuse a bad config. tests/unit/test_regions.py checks that every
answer here is botocore's own.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from typing import Any


@cache
def _partitions() -> list[dict[str, Any]]:
    spec = importlib.util.find_spec("botocore")  # found, not imported
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("botocore is not installed: run `make install`")
    data = Path(next(iter(spec.submodule_search_locations))) / "data" / "endpoints.json"
    partitions: list[dict[str, Any]] = json.loads(data.read_text(encoding="utf-8"))["partitions"]
    return partitions


@cache
def known_regions() -> frozenset[str]:
    """Every region name of every partition that has STS (every region where an account can act)."""
    return frozenset(
        name
        for partition in _partitions()
        for name in partition["services"].get("sts", {}).get("endpoints", {})
        if name in partition["regions"]
    )


def _partition(region: str) -> dict[str, Any]:
    for partition in _partitions():
        if region in partition["regions"] or re.match(partition["regionRegex"], region):
            return partition
    raise ValueError(f"{region} is in no partition botocore knows")


@cache
def partition_of(region: str) -> str:
    """aws, aws-cn, aws-us-gov, ...: the first part of every ARN in that region."""
    name: str = _partition(region)["partition"]
    return name


@cache
def dns_suffix(partition: str) -> str:
    """The partition's service domain (amazonaws.com, amazonaws.com.cn)."""
    for candidate in _partitions():
        if candidate["partition"] == partition:
            suffix: str = candidate["dnsSuffix"]
            return suffix
    raise ValueError(f"{partition} is no partition botocore knows")


def service_endpoint(service: str, region: str) -> str:
    """A service's regional endpoint name, which is also the value of kms:ViaService for that service."""
    return f"{service}.{region}.{dns_suffix(partition_of(region))}"


def via_service_values(service: str, region: str) -> list[str]:
    """The values kms:ViaService may take for a service in a region. AWS documents only SERVICE.REGION.amazonaws.com;
    in the China Regions the service's endpoint name ends in amazonaws.com.cn, and which form KMS sees there is not
    documented (the CDK's bootstrap template uses .amazonaws.com in every partition): both are allowed there."""
    values = [service_endpoint(service, region)]
    commercial = f"{service}.{region}.amazonaws.com"
    return values if commercial in values else [*values, commercial]
