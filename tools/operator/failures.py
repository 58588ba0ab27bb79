"""What an operator command says when AWS or the credentials fail: one line per account, what is wrong and the exact
command that fixes it, with the user's own CONFIG= and ARGS= carried into it (a hint copied as printed must act on
the user's accounts, not the example's)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
)

from config.loader import DEFAULT_CONFIG

# Regions an account must enable before use (AWS Account Management, "Enable or disable AWS Regions in your account":
# the Regions introduced after 20 March 2019). In them, a disabled region answers any call as if the credentials
# were invalid.
OPT_IN_REGIONS = frozenset(
    {
        "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
        "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1",
        "me-central-1", "me-south-1", "mx-central-1",
    }
)  # fmt: skip
EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"})
INVALID = frozenset({"InvalidClientTokenId", "UnrecognizedClientException", "AuthFailure", "SignatureDoesNotMatch"})
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"})
THROTTLED = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown"}
)
# botocore's own errors of an SSO or refreshed session that has run out.
EXPIRED_SESSIONS = frozenset({"TokenRetrievalError", "SSOTokenLoadError", "UnauthorizedSSOTokenError"})


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
            f"{self.make(credentials=('--profile', 'admin-{account}'))} (a profile per account) or "
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
            f"{rerun.make(credentials=('--profile', '<name with {account}>'))}",
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
        if code in INVALID or code == "OptInRequired":
            if region in OPT_IN_REGIONS or code == "OptInRequired":
                return (
                    f"{region} is not enabled for this account ({code})",
                    f"enable it (aws account enable-region --account-id {account} --region-name {region}), wait "
                    f"until it is ENABLED, then: {again}",
                )
            return f"the credentials are not valid ({code})", f"renew them ({_login(rerun, account)}), then: {again}"
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
    profile = rerun.profile
    return f"aws sso login --profile {profile.format(account=account)}" if profile else "aws sso login, or new keys"
