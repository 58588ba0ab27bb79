"""Auto-refreshing credentials of an assumed role: boto3's counterpart of the Java SDK's
StsAssumeRoleCredentialsProvider.

One AssumeRole call per credential lifetime, not per request: botocore refreshes the credentials shortly
before they expire (15 minutes ahead, advisory; 10 minutes, mandatory), from whichever thread first
notices, while the others keep using the still-valid ones.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import boto3
import botocore.session
from botocore.credentials import CredentialProvider, DeferredRefreshableCredentials
from dateutil.tz import tzlocal

Clock = Callable[[], datetime.datetime]


def _now() -> datetime.datetime:
    return datetime.datetime.now(tzlocal())


# Credentials closer than 15 minutes to expiry are refreshed on every use, so a lifetime at or below
# that would mean one AssumeRole per request.
MIN_DURATION_SECONDS = 1800


class AssumeRoleProvider(CredentialProvider):
    METHOD = "sts-assume-role"

    def __init__(
        self, *, sts_client: Any, role_arn: str, session_name: str, duration_seconds: int, clock: Clock = _now
    ) -> None:
        super().__init__()
        self._sts = sts_client
        self._clock = clock
        self._role_arn = role_arn
        self._session_name = session_name
        self._duration_seconds = duration_seconds

    def load(self) -> DeferredRefreshableCredentials:
        # Deferred: the first AssumeRole happens on the first request, not when the client is built,
        # so building clients at import time (Lambda cold start) costs no STS call.
        return DeferredRefreshableCredentials(refresh_using=self._fetch, method=self.METHOD, time_fetcher=self._clock)

    def _fetch(self) -> dict[str, str]:
        response = self._sts.assume_role(
            RoleArn=self._role_arn,
            RoleSessionName=self._session_name,
            DurationSeconds=self._duration_seconds,
        )
        credentials = response["Credentials"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }


def assumed_role_session(
    role_arn: str,
    *,
    session_name: str,
    region_name: str,
    base_session: boto3.Session | None = None,
    duration_seconds: int = 3600,
    clock: Clock = _now,
) -> boto3.Session:
    """A boto3 session whose clients act as `role_arn`, assumed with `base_session`'s credentials."""
    if duration_seconds < MIN_DURATION_SECONDS:
        raise ValueError(
            f"duration_seconds={duration_seconds}: below {MIN_DURATION_SECONDS} botocore refreshes on every call"
        )
    base = base_session or boto3.Session()
    sts = base.client("sts", region_name=region_name)
    provider = AssumeRoleProvider(
        sts_client=sts, role_arn=role_arn, session_name=session_name, duration_seconds=duration_seconds, clock=clock
    )
    core = botocore.session.get_session()
    # The service models the base session has read, not read and parsed again (about 90 ms a client).
    core.register_component("data_loader", base._session.get_component("data_loader"))
    # The only provider in the chain: never fall back to the environment's own credentials, which would
    # silently act in the wrong account.
    core.register_component("credential_provider", _Chain(provider))
    return boto3.Session(botocore_session=core, region_name=region_name)


class _Chain:
    """A credential resolver with exactly one provider."""

    def __init__(self, provider: CredentialProvider) -> None:
        self._provider = provider

    def load_credentials(self) -> Any:
        return self._provider.load()
