"""One settings object for the whole platform.

Every limit is a setting whose default is today's AWS value. `Settings.from_env`
reads `NIMBUS_<FIELD>` variables; the CLI passes explicit flags as overrides.
Nothing here runs at import time.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

MB = 1024 * 1024
DEFAULT_CREDENTIAL = "test"
# On-demand Linux prices in us-east-1 (t3.medium, t3.large, t3.xlarge, m5.2xlarge).
DEFAULT_INSTANCE_PRICES = {
    "2vCPU-4GB": Decimal("0.0416"),
    "2vCPU-8GB": Decimal("0.0832"),
    "4vCPU-16GB": Decimal("0.1664"),
    "8vCPU-32GB": Decimal("0.384"),
}


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 7800
    data_dir: Path = Path(".nimbus")
    root_access_key_id: str = DEFAULT_CREDENTIAL
    root_secret_access_key: str = DEFAULT_CREDENTIAL
    account_id: str = "000000000000"
    region: str = "us-east-1"

    # Lambda limits (AWS defaults)
    account_concurrency: int = 1000
    unreserved_concurrency_minimum: int = 100
    sync_payload_limit: int = 6 * MB
    sync_response_limit: int = 6 * MB + 100
    async_payload_limit: int = 1 * MB
    zipped_code_limit: int = 52_428_800
    unzipped_code_limit: int = 262_144_000
    create_request_limit: int = 70_167_211
    environment_limit: int = 4096
    log_tail_bytes: int = 4096

    # Queues (SQS defaults) and the fleets of event source mappings
    max_message_size: int = 1_048_576
    mapping_maximum_concurrency: int = 1000  # when ScalingConfig leaves it unset (AWS: 1000)
    scale_target_drain_seconds: float = 2.0  # size a fleet to drain its backlog in this time
    scale_in_cooldown_seconds: float = 10.0

    # Event router (EventBridge). PutEvents' total entry size (the brief's 256 KB; AWS
    # raised it to 1 MB in 2026); a target's retries when its RetryPolicy leaves them
    # unset; the backoff between them (base doubles per retry, capped, with jitter)
    events_max_request_size: int = 262_144
    events_maximum_retry_attempts: int = 185
    events_maximum_event_age_seconds: int = 86_400
    events_retry_base_delay_seconds: float = 1.0
    events_retry_max_delay_seconds: float = 300.0
    events_delivery_concurrency: int = 64
    # Replays hand archived events back in batches of this many, with this pause between
    # them; archives delete events past their RetentionDays this often
    events_replay_batch_size: int = 100
    events_replay_batch_interval_seconds: float = 0.0
    events_archive_sweep_interval_seconds: float = 3600.0

    # Object storage (S3): every part of a multipart upload but the last is at least this
    object_min_part_size: int = 5 * MB

    # Execution environments
    keep_warm_seconds: float = 300.0
    shutdown_grace_seconds: float = 10.0
    sandbox_uid: int = 65534
    sandbox_gid: int = 65534
    mb_per_vcpu: int = 1769
    python_interpreters: Mapping[str, str] = field(default_factory=dict)

    # Logs, metrics and metering. `telemetry=False` exists to measure their overhead.
    telemetry: bool = True
    log_retention_days: int = 30
    metrics_retention_minutes: int = 1440
    # Usage records reach the OS before the invocation is answered (a server crash loses
    # none) and the disk within this window (a machine crash loses at most it); 0: fsync each
    usage_sync_interval_ms: int = 100

    # Lets a scraper (Prometheus' `authorization: {credentials: ...}`) read the operator
    # endpoints under /_nimbus without signing; empty: only SigV4 (or a loopback bind)
    metrics_bearer_token: str = ""

    # The platform's wall clock, shifted (rehearse a month's end; tests at a boundary)
    clock_offset_seconds: float = 0.0

    # The bill: Lambda's list prices (us-east-1) and the monthly free tier
    price_per_million_requests: Decimal = Decimal("0.20")
    price_per_gb_second_x86: Decimal = Decimal("0.0000166667")
    price_per_gb_second_arm64: Decimal = Decimal("0.0000133334")
    free_tier_requests: int = 1_000_000
    free_tier_gb_seconds: Decimal = Decimal(400_000)
    instance_hourly_prices: Mapping[str, Decimal] = field(
        default_factory=lambda: dict(DEFAULT_INSTANCE_PRICES)
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, overridden by NIMBUS_* variables, overridden by explicit values."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"NIMBUS_{f.name.upper()}")
            if raw is not None and f.name != "python_interpreters":
                try:
                    values[f.name] = _convert(f.type, raw)
                except ValueError:
                    raise ValueError(
                        f"NIMBUS_{f.name.upper()}={raw!r} is not a valid {f.type}"
                    ) from None
        values["python_interpreters"] = {
            key.removeprefix("NIMBUS_RUNTIME_").lower().replace("_", "."): path
            for key, path in env.items()
            if key.startswith("NIMBUS_RUNTIME_PYTHON")
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def binds_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def check_credentials(self) -> None:
        """Refuse the well-known default credentials on a non-loopback address."""
        uses_default = DEFAULT_CREDENTIAL in (
            self.root_access_key_id,
            self.root_secret_access_key,
        )
        if uses_default and not self.binds_loopback:
            raise ValueError(
                f"refusing to listen on {self.host} with the default credentials: "
                "set NIMBUS_ROOT_ACCESS_KEY_ID and NIMBUS_ROOT_SECRET_ACCESS_KEY"
            )


def _convert(kind: Any, raw: str) -> Any:
    converter = _CONVERTERS.get(str(kind))
    return raw if converter is None else converter(raw)


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _decimal(raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(raw) from None
    if not value.is_finite() or value < 0:
        raise ValueError(raw)
    return value


def _decimal_map(raw: str) -> dict[str, Decimal]:
    """`NAME=PRICE,NAME=PRICE`, e.g. NIMBUS_INSTANCE_HOURLY_PRICES=2vCPU-4GB=0.0416."""
    prices: dict[str, Decimal] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, price = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(raw)
        prices[name.strip()] = _decimal(price)
    return prices


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "float": float,
    "bool": _boolean,
    "Decimal": _decimal,
    "Mapping[str, Decimal]": _decimal_map,
    "Path": Path,
}
