"""The composition root: one `Settings` in, every service built and wired, nothing global."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from nimbus.clock import Clock, epoch_ms, system_clock
from nimbus.errors import NimbusError
from nimbus.events.replay import ReplaySettings
from nimbus.events.retry import RetrySettings
from nimbus.events.service import EventsLimits, EventsService
from nimbus.events.timer import WallTimer
from nimbus.executor.local import LocalExecutor
from nimbus.functions.codestore import CodeStore
from nimbus.functions.concurrency import ConcurrencyLimiter
from nimbus.functions.invoke import InvokeLimits, Invoker
from nimbus.functions.mappings import MappingRegistry
from nimbus.functions.model import FunctionConfig
from nimbus.functions.package_limits import PackageLimits
from nimbus.functions.registry import FunctionRegistry
from nimbus.functions.runtimes import RuntimeCatalog
from nimbus.functions.service import FunctionsService
from nimbus.metering.bill import Bill, InstanceComparison, Month, compare_instance, compute_bill
from nimbus.metering.ledger import UsageLedger
from nimbus.metering.prices import PriceList
from nimbus.objects.model import ObjectLimits
from nimbus.objects.service import ObjectsService
from nimbus.platform_targets import PlatformTargets
from nimbus.queues.service import QueuesService
from nimbus.sandbox import limits, runtime_lib
from nimbus.sandbox.factory import EnvironmentFactory
from nimbus.scaling.sqs_fleet import FleetManager
from nimbus.settings import Settings
from nimbus.store.sqlite import SqliteStore
from nimbus.telemetry.invocations import InvocationTelemetry
from nimbus.telemetry.logs import LogsService
from nimbus.telemetry.logstore import LogStore
from nimbus.telemetry.metrics import MetricsRecorder

logger = logging.getLogger(__name__)
RETENTION_SWEEP_SECONDS = 600.0


class Platform:
    """Everything a nimbus node runs, usable in-process (tests) or behind the gateway."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or system_clock(settings.clock_offset_seconds)
        data = settings.data_dir.resolve()
        data.mkdir(parents=True, exist_ok=True)
        os.chmod(data, 0o700)
        self.data_dir = data
        self.store = SqliteStore(data / "state.db")
        self.capabilities = limits.probe()
        self.runtimes = RuntimeCatalog(settings.python_interpreters)
        package_limits = PackageLimits(settings.zipped_code_limit, settings.unzipped_code_limit)
        self.code = CodeStore(data / "code", package_limits)
        self.executor = LocalExecutor(self._factory(), settings.keep_warm_seconds)
        self.limiter = ConcurrencyLimiter(
            settings.account_concurrency, settings.unreserved_concurrency_minimum
        )
        self.registry = FunctionRegistry(
            self.store, self.code, self.runtimes, settings.region, settings.account_id,
            settings.environment_limit, self.clock,
        )  # fmt: skip
        self.invoker = Invoker(
            self.registry, self.executor, self.limiter, self.store,
            InvokeLimits(
                settings.sync_payload_limit, settings.async_payload_limit,
                settings.sync_response_limit, settings.log_tail_bytes,
            ),
            self.function_environment, self.runtimes.interpreter,
            settings.region, settings.account_id, self.clock,
        )  # fmt: skip
        self.queues = QueuesService(
            data / "queues.db", settings.region, settings.account_id, settings.endpoint,
            settings.max_message_size, self.clock,
        )  # fmt: skip
        self.mappings = MappingRegistry(
            self.store,
            self.registry,
            self._queue_exists,
            settings.region,
            settings.account_id,
            self.clock,
        )
        self.functions = FunctionsService(
            self.registry, self.invoker, self.limiter, self.executor, self.code,
            settings.region, settings.account_id, self._url_secret(),
            (settings.zipped_code_limit, settings.unzipped_code_limit),
            self.runtimes.interpreter, self.mappings, self.clock,
        )  # fmt: skip
        self.fleets = FleetManager(
            self.queues, self.functions.invoke, settings.region,
            settings.mapping_maximum_concurrency, settings.scale_target_drain_seconds,
            settings.scale_in_cooldown_seconds, settings.sync_payload_limit, self.clock,
        )  # fmt: skip
        self.mappings.listeners.append(self.fleets.changed)
        self.metrics = MetricsRecorder(settings.metrics_retention_minutes, self.clock)
        self.log_store = LogStore(data / "logs.db", self.clock)
        self.logs = LogsService(
            self.log_store, settings.region, settings.account_id, settings.log_retention_days
        )
        sync_s = settings.usage_sync_interval_ms / 1000
        self.ledger = UsageLedger(data / "usage.db", sync_interval_s=sync_s)
        self.prices = PriceList.from_settings(settings)
        self.events = EventsService(
            data / "events.db", PlatformTargets(self.functions, self.queues),
            WallTimer(self.clock), region=settings.region, account=settings.account_id,
            retry=RetrySettings(
                settings.events_maximum_retry_attempts,
                settings.events_maximum_event_age_seconds,
                settings.events_retry_base_delay_seconds,
                settings.events_retry_max_delay_seconds,
            ),
            limits=EventsLimits(
                settings.events_max_request_size, settings.events_delivery_concurrency,
                ReplaySettings(
                    settings.events_replay_batch_size,
                    settings.events_replay_batch_interval_seconds,
                ),
                settings.events_archive_sweep_interval_seconds,
            ),
        )  # fmt: skip
        self.objects = ObjectsService(
            data / "s3", clock=self.clock,
            limits=ObjectLimits(min_part_size=settings.object_min_part_size),
            targets=PlatformTargets(self.functions, self.queues, self.events),
            region=settings.region, account_id=settings.account_id,
        )  # fmt: skip
        if settings.telemetry:
            self.invoker.observer = InvocationTelemetry(self.log_store, self.metrics, self.ledger)
        self._sweeper: asyncio.Task[None] | None = None

    def _factory(self) -> EnvironmentFactory:
        lib = runtime_lib.build(runtime_lib.default_location())
        # Without a private mount tree the dropped user could not read its own code.
        caps = self.capabilities
        can_drop = caps.privilege_drop.available and caps.mount_ns.available
        return EnvironmentFactory(
            self.capabilities,
            run_dir=self.data_dir / "run",
            hidden_dirs=[self.data_dir],
            lib_dirs=[str(lib)],
            sandbox_uid=self.settings.sandbox_uid if can_drop else None,
            sandbox_gid=self.settings.sandbox_gid if can_drop else None,
            cgroup_parent="nimbus-" + hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:10],
            mb_per_vcpu=self.settings.mb_per_vcpu,
            clock=self.clock,
        )

    def _queue_exists(self, arn: str) -> bool:
        try:
            self.queues.url_for_arn(arn)
        except NimbusError:
            return False
        return True

    def _url_secret(self) -> bytes:
        seed = f"{self.settings.root_secret_access_key}:{self.data_dir}".encode()
        return hashlib.sha256(seed).digest()

    def function_environment(self, config: FunctionConfig) -> Mapping[str, str]:
        """Lambda's reserved variables, plus where the platform is and how to sign to it."""
        settings = self.settings
        code_dir = self.registry.code_dir(config)
        return {
            "_HANDLER": config.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": config.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
            "AWS_REGION": settings.region,
            "AWS_DEFAULT_REGION": settings.region,
            "AWS_ACCESS_KEY_ID": settings.root_access_key_id,
            "AWS_SECRET_ACCESS_KEY": settings.root_secret_access_key,
            "AWS_ENDPOINT_URL": settings.endpoint,
            "LAMBDA_TASK_ROOT": str(code_dir),
            "LAMBDA_RUNTIME_DIR": str(Path(limits.__file__).parent / "runtimes" / "python"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH": str(code_dir),
        }

    async def start(self) -> None:
        await self.queues.start()
        await self.objects.start()
        await self.executor.start()
        in_use = {config.runtime for config in self.registry.list()}
        for runtime in in_use & set(self.runtimes.available()):
            self.functions.prewarm(runtime)
        self.fleets.start(list(self.mappings.list()))
        resumed = self.invoker.resume_pending()
        if resumed:
            logger.info("resumed %d accepted asynchronous invocations", resumed)
        await self.events.start()  # pending deliveries need the queues and the invoker
        self._sweeper = asyncio.create_task(self._sweep_logs())

    async def _sweep_logs(self) -> None:
        """Delete log events past their group's retention, now and then."""
        while True:
            deleted = await asyncio.to_thread(self.logs.expire, epoch_ms(self.clock))
            if deleted:
                logger.info("deleted %d log events past their retention", deleted)
            await asyncio.sleep(RETENTION_SWEEP_SECONDS)

    def bill(self, month: str | None = None) -> Bill:
        """The month's bill (this month when `month` is None) at the configured prices."""
        period = self._month(month)
        return compute_bill(period, self.ledger.monthly(period), self.prices)

    def compare_instance(self, month: str | None, instance: str) -> InstanceComparison:
        return compare_instance(self._month(month), instance, self.prices)

    def _month(self, text: str | None) -> Month:
        """`YYYY-MM`, or the platform clock's current month (UTC) when not given."""
        return Month.parse(text) if text else Month.current(self.clock())

    async def stop(self) -> None:
        grace = self.settings.shutdown_grace_seconds
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.fleets.stop()
        await self.events.stop()
        await self.invoker.drain(grace)
        await self.executor.stop(grace)
        await self.queues.stop()
        await self.objects.stop()
        self.ledger.close()
        self.log_store.close()
        self.store.close()
