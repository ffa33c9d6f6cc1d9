"""The functions service: what the Lambda API (and the `Platform` API) can ask of it."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

from nimbus.arn import resolve_function_ref
from nimbus.clock import Clock
from nimbus.errors import ResourceNotFound
from nimbus.executor.base import Executor
from nimbus.functions.codestore import CodeStore
from nimbus.functions.concurrency import ConcurrencyLimiter
from nimbus.functions.invoke import Invoker, InvokeRequest, InvokeResult
from nimbus.functions.mappings import MappingRegistry
from nimbus.functions.model import FunctionConfig
from nimbus.functions.registry import ConfigChanges, FunctionRegistry

CODE_URL_TTL_S = 600


@dataclass(frozen=True)
class AccountSettings:
    concurrent_executions: int
    unreserved_concurrent_executions: int
    total_code_size: int
    function_count: int
    code_size_zipped: int
    code_size_unzipped: int


class FunctionsService:
    def __init__(
        self,
        registry: FunctionRegistry,
        invoker: Invoker,
        limiter: ConcurrencyLimiter,
        executor: Executor,
        code: CodeStore,
        region: str,
        account: str,
        url_secret: bytes,
        package_limits: tuple[int, int],
        interpreter: Callable[[str], str],
        mappings: MappingRegistry,
        clock: Clock = time.time,
    ) -> None:
        self._clock = clock
        self._interpreter = interpreter
        self.mappings = mappings
        self.registry = registry
        self.invoker = invoker
        self._limiter = limiter
        self._executor = executor
        self._code = code
        self._region = region
        self._account = account
        self._url_secret = url_secret
        self._package_limits = package_limits

    def _name(self, function: str) -> tuple[str, str | None]:
        ref = resolve_function_ref(function, self._region, self._account)
        return ref.name, ref.qualifier

    def create(
        self, name: str, changes: ConfigChanges, zip_bytes: bytes, publish: bool = False,
        tags: dict[str, str] | None = None,
    ) -> FunctionConfig:  # fmt: skip
        config = self.registry.create(name, changes, zip_bytes, publish, tags)
        self.prewarm(config.runtime)
        return config

    def prewarm(self, runtime: str) -> None:
        """Have the runtime ready before the first invocation arrives."""
        self._executor.prewarm(self._interpreter(runtime))

    def get(self, function: str, qualifier: str | None = None) -> FunctionConfig:
        name, arn_qualifier = self._name(function)
        return self.registry.get(name, qualifier or arn_qualifier)

    def list(self, marker: str | None, max_items: int) -> tuple[list[FunctionConfig], str | None]:
        page = list(itertools.islice(self.registry.list(marker), max_items + 1))
        if len(page) > max_items:
            return page[:max_items], page[max_items - 1].name
        return page, None

    async def update_code(
        self, function: str, zip_bytes: bytes, publish: bool = False, revision_id: str | None = None
    ) -> FunctionConfig:
        name, _ = self._name(function)
        config = self.registry.update_code(name, zip_bytes, publish, revision_id)
        await self._executor.retire(name)
        return config

    async def update_configuration(
        self, function: str, changes: ConfigChanges, revision_id: str | None = None
    ) -> FunctionConfig:
        name, _ = self._name(function)
        config = self.registry.update_configuration(name, changes, revision_id)
        await self._executor.retire(name)
        return config

    async def delete(self, function: str, qualifier: str | None = None) -> None:
        name, arn_qualifier = self._name(function)
        self.registry.delete(name, qualifier or arn_qualifier)
        await self._executor.retire(name)

    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        return await self.invoker.invoke(request)

    def reserved_concurrency(self, function: str) -> int | None:
        name, _ = self._name(function)
        return self.registry.entry(name).reserved_concurrency

    def put_reserved_concurrency(self, function: str, value: int) -> int:
        name, _ = self._name(function)
        self.registry.entry(name)
        self._limiter.check_reservation(name, value, self.registry.reserved_concurrency())
        self.registry.set_reserved_concurrency(name, value)
        return value

    def delete_reserved_concurrency(self, function: str) -> None:
        name, _ = self._name(function)
        self.registry.set_reserved_concurrency(name, None)

    def account_settings(self) -> AccountSettings:
        reservations = self.registry.reserved_concurrency()
        zipped, unzipped = self._package_limits
        return AccountSettings(
            concurrent_executions=self._limiter.account_limit,
            unreserved_concurrent_executions=self._limiter.unreserved_pool(reservations),
            total_code_size=self.registry.total_code_size(),
            function_count=len(self.registry),
            code_size_zipped=zipped,
            code_size_unzipped=unzipped,
        )

    # -- code download URLs (GetFunction's Code.Location), signed and short-lived ----------

    def code_url_path(self, config: FunctionConfig) -> str:
        expires = int(self._clock() + CODE_URL_TTL_S)
        digest = config.code.digest_hex
        return (
            f"/_nimbus/code/{digest}.zip?Expires={expires}&Signature={self._sign(digest, expires)}"
        )

    def code_download(self, digest: str, expires: str, signature: str) -> bytes:
        try:
            expiry = int(expires)
        except ValueError:
            expiry = 0
        valid = hmac.compare_digest(self._sign(digest, expiry), signature)
        data = self._code.read_zip(digest) if valid and expiry >= self._clock() else None
        if data is None:
            raise ResourceNotFound("The code package link is invalid or has expired.")
        return data

    def _sign(self, digest: str, expires: int) -> str:
        message = f"{digest}:{expires}".encode()
        return hmac.new(self._url_secret, message, hashlib.sha256).hexdigest()
