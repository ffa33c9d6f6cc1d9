"""How the client commands reach a running platform, and how their failures read.

Every command except `server` talks to nimbus at `--endpoint` through boto3 (or
plain HTTP for the `/_nimbus` endpoints). Failures a user can cause or fix (an
AWS error reply, a server that is not running, a bad parameter) become one
`CliError` line; anything else is a bug in nimbus and keeps its traceback.
"""

from __future__ import annotations

import functools
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

import boto3
import click
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
    WaiterError,
)

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")

DEFAULT_ENDPOINT = "http://127.0.0.1:7800"
DEFAULT_CREDENTIAL = "test"
DEFAULT_REGION = "us-east-1"
# The service name the CLI signs its /_nimbus requests for (the server accepts any).
OPERATOR_SERVICE = "nimbus"
CONNECT_TIMEOUT_SECONDS = 5
# A synchronous invoke may legitimately run for Lambda's maximum of 900 s.
READ_TIMEOUT_SECONDS = 960


class CliError(click.ClickException):
    """A user-facing failure: printed as one `error: ...` line, exit status 1."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", file=file, err=file is None)


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None
    region: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """The usual AWS variables; nimbus's well-known test/test when unset."""
        env = os.environ if environ is None else environ
        return cls(
            access_key_id=env.get("AWS_ACCESS_KEY_ID") or DEFAULT_CREDENTIAL,
            secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or DEFAULT_CREDENTIAL,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
        )


@dataclass(frozen=True)
class Connection:
    """Where the platform is and who we are to it; builds clients on demand."""

    endpoint: str
    credentials: Credentials

    def client(self, service: str) -> Any:
        check_endpoint(self.endpoint)
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint,
            aws_access_key_id=self.credentials.access_key_id,
            aws_secret_access_key=self.credentials.secret_access_key,
            aws_session_token=self.credentials.session_token,
            region_name=self.credentials.region,
            config=Config(
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                read_timeout=READ_TIMEOUT_SECONDS,
                # A CLI reports what happened; a retried Invoke could run twice.
                retries={"total_max_attempts": 1},
            ),
        )

    def lambda_client(self) -> Any:
        return self.client("lambda")

    def get_json(self, path: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> Any:
        """GET a platform endpoint (`/_nimbus/...`), SigV4-signed, and decode its JSON body.

        `timeout` bounds each socket wait: a long-polling endpoint needs more than its wait.
        """
        check_endpoint(self.endpoint)
        url = self.endpoint + path
        request = urllib.request.Request(url, headers=self.signed_headers("GET", url))
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                body = reply.read()
        except urllib.error.HTTPError as exc:
            raise CliError(_http_error(url, exc)) from None
        except (urllib.error.URLError, OSError):
            raise self.unreachable() from None
        try:
            return json.loads(body)
        except ValueError:
            raise CliError(f"{url} did not answer with JSON: is it nimbus?") from None

    def signed_headers(self, method: str, url: str) -> dict[str, str]:
        """The headers that sign a bodiless request with our credentials (service `nimbus`)."""
        creds = self.credentials
        request = AWSRequest(method=method, url=url)
        signer = SigV4Auth(
            BotoCredentials(creds.access_key_id, creds.secret_access_key, creds.session_token),
            OPERATOR_SERVICE,
            creds.region,
        )
        signer.add_auth(request)
        return dict(request.headers.items())

    def unreachable(self) -> CliError:
        return CliError(f"cannot reach nimbus at {self.endpoint}: is the server running?")

    @contextmanager
    def reporting_errors(self) -> Iterator[None]:
        """Turn the botocore failures a user can act on into one `CliError` line."""
        try:
            yield
        except (ClientError, ParamValidationError, WaiterError, ReadTimeoutError) as exc:
            raise describe_error(exc) from None
        except (EndpointConnectionError, ConnectionClosedError):
            raise self.unreachable() from None


def describe_error(exc: Exception) -> CliError:
    """One line for a botocore error, `Code: Message` for an AWS error reply."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or "Error"
        message = error.get("Message") or str(exc)
        return CliError(one_line(f"{code}: {message}"))
    if isinstance(exc, ParamValidationError):
        return CliError(one_line(exc.kwargs.get("report", str(exc))))
    return CliError(one_line(str(exc)))


def _http_error(url: str, exc: urllib.error.HTTPError) -> str:
    """`Code: message` from a platform endpoint's JSON error body, else the status."""
    try:
        error = json.loads(exc.read())["error"]
        return one_line(f"{error['code']}: {error['message']}")
    except (ValueError, KeyError, TypeError, OSError):
        return f"{url} answered HTTP {exc.code}"


def one_line(text: str) -> str:
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def check_endpoint(endpoint: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(f"invalid endpoint {endpoint!r}: expected http://HOST:PORT")


ENDPOINT_VARIABLES = ("NIMBUS_ENDPOINT", "AWS_ENDPOINT_URL")
_ENDPOINT_KEY = "nimbus.endpoint"


def resolve_endpoint(explicit: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The flag, else NIMBUS_ENDPOINT, else AWS_ENDPOINT_URL, else the local default."""
    env = os.environ if environ is None else environ
    for candidate in (explicit, *(env.get(name) for name in ENDPOINT_VARIABLES)):
        if candidate:
            return candidate.rstrip("/")
    return DEFAULT_ENDPOINT


def _remember_endpoint(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # ctx.meta is shared by the group and its sub-command: the later (sub-command) flag wins
    if value:
        ctx.meta[_ENDPOINT_KEY] = value


def endpoint_option(command: F) -> F:
    """`--endpoint URL` (alias `--endpoint-url`, as the AWS CLI spells it)."""
    return click.option(
        "--endpoint",
        "--endpoint-url",
        metavar="URL",
        default=None,
        expose_value=False,
        callback=_remember_endpoint,
        help=f"The running platform to talk to (else $NIMBUS_ENDPOINT, $AWS_ENDPOINT_URL, "
        f"{DEFAULT_ENDPOINT}).",
    )(command)


def pass_connection(command: Callable[..., R]) -> Callable[..., R]:
    """Give a sub-command its `Connection` first, and accept --endpoint after it too."""

    @functools.wraps(command)
    def with_connection(*args: Any, **kwargs: Any) -> R:
        endpoint = resolve_endpoint(click.get_current_context().meta.get(_ENDPOINT_KEY))
        return command(Connection(endpoint, Credentials.from_env()), *args, **kwargs)

    return endpoint_option(with_connection)
