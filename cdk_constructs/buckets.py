"""The bar every bucket of the project meets, the pipeline's replication buckets included."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_s3 as s3


def hardened() -> dict[str, Any]:
    """Bucket properties: no public access, ACLs off (the bucket owner owns every object), TLS 1.2 or later only,
    versioned."""
    return {
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "enforce_ssl": True,
        "minimum_tls_version": 1.2,
        "versioned": True,
    }
