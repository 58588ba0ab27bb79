"""The example workload's function: counts the objects of each dataset the consumer is given, under the dataset's
prefix, with the workload's own role. DATASETS is what the demo function reads (cdk_constructs/documents.py
ENTRY_KEYS: n name, b bucket, p prefix, r reached through the source role, which this example leaves out)."""

import json
import os
from typing import Any

import boto3


def handler(event: dict[str, Any], context: object) -> dict[str, int]:
    s3 = boto3.client("s3")
    counts = {}
    for dataset in json.loads(os.environ.get("DATASETS", "[]")):
        if "b" in dataset and not dataset.get("r"):
            listed = s3.list_objects_v2(Bucket=dataset["b"], Prefix=dataset.get("p", ""), MaxKeys=1000)
            counts[dataset["n"]] = listed.get("KeyCount", 0)
    return counts
