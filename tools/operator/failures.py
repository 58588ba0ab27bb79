"""What an operator command says when AWS or the credentials fail: one line per account, what is wrong and the exact
command that fixes it, with the user's own CONFIG= and ARGS= carried into it (a hint copied as printed must act on
the user's accounts, not the example's)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
)

from config.loader import DEFAULT_CONFIG

# The commercial Regions enabled by default (AWS Account Management, "Enable or disable AWS Regions in your account"):
# every Region introduced after 20 March 2019 must be enabled first, and a disabled one answers any call as if the
# credentials were invalid. Listing the defaults keeps a Region launched later on the opt-in side.
DEFAULT_REGIONS = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
        "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2",
        "eu-west-3", "eu-north-1", "sa-east-1",
    }
)  # fmt: skip
EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired"})
INVALID = frozenset({"InvalidClientTokenId", "UnrecognizedClientException", "AuthFailure"})
# A wrong secret key, or a clock far from AWS's.
SKEWED = frozenset({"SignatureDoesNotMatch", "RequestExpired", "RequestTimeTooSkewed", "InvalidSignatureException"})
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"})
THROTTLED = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown"}
)
# botocore's own errors of an SSO or refreshed session that has run out.
EXPIRED_SESSIONS = frozenset(
    {"TokenRetrievalError", "SSOTokenLoadError", "UnauthorizedSSOTokenError", "LoginRefreshRequired"}
)


def opt_in(region: str) -> bool:
    return (
        region.count("-") == 2
        and not region.startswith(("cn-", "us-gov-", "us-iso"))
        and (region not in DEFAULT_REGIONS)
    )


@dataclass(frozen=True)
class Rerun:
    """How the user ran the command, so that every hint repeats it: `make COMMAND CONFIG=... ARGS="..."`."""

    command: str
    config: str = DEFAULT_CONFIG
    args: tuple[str, ...] = ()  # the credential flags as given (--profile X, --assume-role Y)
    options: tuple[str, ...] = ()  # the command's own flags as given (--yes, --admin), kept in every hint

    def make(self, *extra: str, command: str | None = None, credentials: tuple[str, ...] | None = None) -> str:
        options = self.options if command in (None, self.command) else ()
        args = [*(self.args if credentials is None else credentials), *options, *extra]
        text = f"make {command or self.command}"
        if self.config != DEFAULT_CONFIG:
            text += f" CONFIG={shlex.quote(self.config)}"
        if args:
            text += f' ARGS="{" ".join(args)}"'
        return text

    def ways_to_give_credentials(self) -> str:
        """The two ways of giving each account its own credentials, as commands."""
        return (
            f"{self.make(credentials=('--profile', 'admin-{account}'))} (a profile per account, or a file of them: "
            f"--profile profiles.yaml) or "
            f"{self.make(credentials=('--assume-role', 'OrganizationAccountAccessRole'))} (a role assumed in each)"
        )

    @property
    def profile(self) -> str | None:
        return self._flag("--profile")

    @property
    def assume_role(self) -> str | None:
        return self._flag("--assume-role")

    def _flag(self, name: str) -> str | None:
        args = list(self.args)
        return args[args.index(name) + 1] if name in args[:-1] else None


def explain(error: Exception, account: str, region: str, rerun: Rerun) -> tuple[str, str]:
    """(what is wrong, the command or step that fixes it) for an AWS or credential failure in one account."""
    again = rerun.make()
    ways = rerun.ways_to_give_credentials()
    if isinstance(error, ProfileNotFound):
        profile = error.kwargs.get("profile", "?")
        return (
            f"the profile {profile} is not configured",
            f"add it (aws configure sso --profile {profile}), or name profiles you have: "
            f"{rerun.make(credentials=('--profile', 'NAME-{account}'))}",
        )
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found", f"give them: {ways}; or sign in first (aws sso login)"
    if type(error).__name__ in EXPIRED_SESSIONS:
        return "the credentials' session has expired", f"sign in again ({_login(rerun, account)}), then: {again}"
    if isinstance(error, (EndpointConnectionError, ConnectTimeoutError)):
        return f"cannot reach AWS ({error})", f"check the network or proxy, then: {again}"
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = " ".join(str(error.response.get("Error", {}).get("Message", "")).split())[:200]
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        operation = error.operation_name
        if status >= 500 or (code.isdigit() and int(code) >= 500):
            return (
                f"AWS answered {operation} with a server error ({status or code})",
                f"retry in a minute: {again}",
            )
        if code in EXPIRED:
            return "the credentials have expired", f"renew them ({_login(rerun, account)}), then: {again}"
        if code in SKEWED:
            return (
                f"AWS refused the request's signature ({code})",
                f"check the secret key and this machine's clock (AWS allows 5 minutes of skew), then: {again}",
            )
        if code == "RegionDisabledException" or (code in INVALID and opt_in(region)):
            where = (
                f"in {account}" if code == "RegionDisabledException" else
                f"in {account}" + (", or in the account you assume the role from," if rerun.assume_role else "")
            )  # fmt: skip
            return (
                f"{region} may not be enabled {where} ({code})",
                f"enable it: {_enable_region(rerun, account, region)}; then: {again}",
            )
        if code in INVALID:
            return f"the credentials are not valid ({code})", f"renew them ({_login(rerun, account)}), then: {again}"
        if code == "OptInRequired":
            return (
                f"the account is not subscribed to the service of {operation} ({code})",
                f"activate it (the account may still be being set up, or need a subscription), then: {again}",
            )
        if code in DENIED:
            if operation == "AssumeRole":
                role = rerun.assume_role or "the role"
                return (
                    f"cannot assume {role} in this account ({code})",
                    f"make sure {role} exists in {account} and trusts the credentials you run with, or use "
                    f"{rerun.make(credentials=('--profile', 'admin-{account}'))}",
                )
            return (
                f"access denied to {operation} ({code})",
                f"act as an administrator of this account: {ways}",
            )
        if code in THROTTLED:
            return f"AWS throttled {operation} ({code})", f"wait a minute, then: {again}"
        return f"{operation} failed: {code}: {message}".strip(), f"fix that in this account, then: {again}"
    if isinstance(error, BotoCoreError):
        return str(error), f"fix that, then: {again}"
    raise error


def _login(rerun: Rerun, account: str) -> str:
    profile = _profile_of(rerun, account)
    if profile:
        return f"aws sso login --profile {profile} for an SSO profile, or new keys in profile {profile}"
    return "aws sso login, or new keys"


def _profile_of(rerun: Rerun, account: str) -> str | None:
    """The profile the command acts with in this account: --profile's, or AWS_PROFILE's."""
    import os

    if rerun.profile:
        return profile_of(rerun.profile, account)
    return os.environ.get("AWS_PROFILE")


def _enable_region(rerun: Rerun, account: str, region: str) -> str:
    profile = _profile_of(rerun, account)
    in_account = f"aws account enable-region --region-name {region}" + (f" --profile {profile}" if profile else "")
    return (
        f"{in_account} (or, from the organization's management account, aws account enable-region --account-id "
        f"{account} --region-name {region}); aws account get-region-opt-status --region-name {region} says ENABLED "
        "when it is done"
    )


PROFILE_FILE_SUFFIXES = (".yaml", ".yml", ".json")


def profile_of(profile: str, account: str) -> str:
    """The profile --profile names for an account: the pattern with {account} filled in, or the account's entry in
    the file --profile names (profiles named by alias, as organizations name their SSO profiles)."""
    if profile.endswith(PROFILE_FILE_SUFFIXES):
        return str(_profile_file(profile)[account])
    return profile.replace("{account}", account)


def _profile_file(path: str) -> dict[str, Any]:
    import yaml

    with open(path, encoding="utf-8") as file:
        loaded = yaml.safe_load(file)
    return loaded if isinstance(loaded, dict) else {}


def profile_problem(profile: str, accounts: list[str] | None = None) -> str | None:
    """What is wrong with --profile, or None: a pattern may name the account as {account}, and nothing else; a file
    (.yaml, .yml, .json) maps every account of the config to a profile name."""
    if profile.endswith(PROFILE_FILE_SUFFIXES):
        try:
            mapping = _profile_file(profile)
        except OSError as error:
            return f"--profile {profile}: {error.strerror or error}"
        except ValueError as error:  # yaml's errors are ValueErrors
            return f"--profile {profile}: not YAML or JSON ({str(error).splitlines()[0]})"
        wrong = [f"{k!r}: {v!r}" for k, v in mapping.items() if not (isinstance(k, str) and isinstance(v, str))]
        if not mapping or wrong:
            return (
                f'--profile {profile}: write one line per account, the account id quoted: "111111111111": '
                f"my-profile{' (not ' + wrong[0] + ')' if wrong else ''}"
            )
        missing = [account for account in accounts or [] if account not in mapping]
        if missing:
            return f"--profile {profile}: no profile for {', '.join(missing)}"
        return None
    try:
        profile.format(account="123456789012")
    except (KeyError, IndexError, ValueError) as error:
        return f"--profile {profile!r}: only {{account}} may stand in it ({type(error).__name__}: {error})"
    return None
