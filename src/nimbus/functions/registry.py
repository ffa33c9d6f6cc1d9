"""Functions and their versions: create, read, update, delete; durable before returning."""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nimbus.arn import function_arn
from nimbus.clock import Clock
from nimbus.errors import (
    InvalidParameterValue,
    PreconditionFailed,
    ResourceConflict,
    ResourceNotFound,
)
from nimbus.functions import validation
from nimbus.functions.codestore import CodeStore
from nimbus.functions.model import LATEST, FunctionConfig
from nimbus.functions.runtimes import RuntimeCatalog
from nimbus.store.base import RecordStore

TABLE = "functions"


@dataclass(frozen=True)
class ConfigChanges:
    """Configuration fields a caller set; None means 'leave as is' (or default on create)."""

    runtime: str | None = None
    handler: str | None = None
    role: str | None = None
    memory_size: int | None = None
    timeout: int | None = None
    ephemeral_storage: int | None = None
    description: str | None = None
    environment: dict[str, str] | None = None
    architectures: list[str] | None = None


@dataclass
class FunctionEntry:
    latest: FunctionConfig
    versions: dict[str, FunctionConfig] = field(default_factory=dict)
    reserved_concurrency: int | None = None

    def to_record(self) -> dict[str, Any]:
        return {
            "latest": self.latest.to_record(),
            "versions": {key: config.to_record() for key, config in self.versions.items()},
            "reserved_concurrency": self.reserved_concurrency,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> FunctionEntry:
        return cls(
            latest=FunctionConfig.from_record(record["latest"]),
            versions={k: FunctionConfig.from_record(v) for k, v in record["versions"].items()},
            reserved_concurrency=record.get("reserved_concurrency"),
        )


def _timestamp(now: float) -> str:
    stamp = datetime.datetime.fromtimestamp(now, datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


class FunctionRegistry:
    """The catalogue of functions, cached in memory, persisted in the record store."""

    def __init__(
        self,
        store: RecordStore,
        code: CodeStore,
        runtimes: RuntimeCatalog,
        region: str,
        account: str,
        environment_limit: int,
        clock: Clock = time.time,
    ) -> None:
        self._clock = clock
        self._store = store
        self._code = code
        self._runtimes = runtimes
        self._region = region
        self._account = account
        self._environment_limit = environment_limit
        self._entries = {key: FunctionEntry.from_record(rec) for key, rec in store.scan(TABLE)}

    def arn(self, name: str) -> str:
        return function_arn(self._region, self._account, name)

    def create(
        self, name: str, changes: ConfigChanges, zip_bytes: bytes, publish: bool = False,
        tags: dict[str, str] | None = None,
    ) -> FunctionConfig:  # fmt: skip
        validation.check_name(name)
        self._check(changes)
        if name in self._entries:
            raise ResourceConflict(f"Function already exist: {name}")
        assert changes.runtime and changes.handler and changes.role
        code = self._code.save(zip_bytes)
        config = FunctionConfig(
            name=name, arn=self.arn(name), runtime=changes.runtime, handler=changes.handler,
            role=changes.role, code=code, tags=dict(tags or {}),
            revision_id=str(uuid.uuid4()), last_modified=_timestamp(self._clock()),
        )  # fmt: skip
        entry = FunctionEntry(latest=self._apply(config, changes))
        if tags and "nimbus:isolation" in tags:
            validation.check_isolation(tags["nimbus:isolation"])
        published = self._publish(entry) if publish else entry.latest
        self._save(entry)
        return published

    def get(self, name: str, qualifier: str | None = None) -> FunctionConfig:
        entry = self.entry(name, qualifier)
        if qualifier in (None, LATEST):
            return entry.latest
        version = entry.versions.get(str(qualifier))
        if version is None:
            raise ResourceNotFound(f"Function not found: {self.arn(name)}:{qualifier}")
        return version

    def entry(self, name: str, qualifier: str | None = None) -> FunctionEntry:
        entry = self._entries.get(name)
        if entry is None:
            suffix = f":{qualifier}" if qualifier else ""
            raise ResourceNotFound(f"Function not found: {self.arn(name)}{suffix}")
        return entry

    def list(self, marker: str | None = None) -> Iterator[FunctionConfig]:
        for name in sorted(self._entries):
            if marker is None or name > marker:
                yield self._entries[name].latest

    def update_code(
        self, name: str, zip_bytes: bytes, publish: bool = False, revision_id: str | None = None
    ) -> FunctionConfig:
        entry = self.entry(name)
        self._check_revision(entry, revision_id)
        code = self._code.save(zip_bytes)
        entry.latest = self._touch(entry.latest.replace(code=code))
        published = self._publish(entry) if publish else entry.latest
        self._save(entry)
        return published

    def update_configuration(
        self, name: str, changes: ConfigChanges, revision_id: str | None = None
    ) -> FunctionConfig:
        entry = self.entry(name)
        self._check_revision(entry, revision_id)
        self._check(changes)
        entry.latest = self._touch(self._apply(entry.latest, changes))
        self._save(entry)
        return entry.latest

    def delete(self, name: str, qualifier: str | None = None) -> None:
        entry = self.entry(name)
        if qualifier == LATEST:
            raise InvalidParameterValue(
                "$LATEST version cannot be deleted without deleting the function."
            )
        if qualifier is not None:
            if entry.versions.pop(qualifier, None) is None:
                raise ResourceNotFound(f"Function not found: {self.arn(name)}:{qualifier}")
            self._save(entry)
        else:
            del self._entries[name]
            self._store.delete(TABLE, name)
        self._code.collect_garbage(self.code_in_use())

    def set_reserved_concurrency(self, name: str, value: int | None) -> None:
        entry = self.entry(name)
        entry.reserved_concurrency = value
        self._save(entry)

    def reserved_concurrency(self) -> dict[str, int]:
        return {
            name: entry.reserved_concurrency
            for name, entry in self._entries.items()
            if entry.reserved_concurrency is not None
        }

    def code_dir(self, config: FunctionConfig) -> Path:
        return self._code.tree(config.code)

    def code_in_use(self) -> set[str]:
        return {
            config.code.digest_hex
            for entry in self._entries.values()
            for config in (entry.latest, *entry.versions.values())
        }

    def total_code_size(self) -> int:
        return sum(
            config.code.size
            for entry in self._entries.values()
            for config in (entry.latest, *entry.versions.values())
        )

    def __len__(self) -> int:
        return len(self._entries)

    def _check(self, changes: ConfigChanges) -> None:
        if changes.runtime is not None:
            self._runtimes.interpreter(changes.runtime)
        validation.check_role(changes.role)
        validation.check_range("memorySize", changes.memory_size)
        validation.check_range("timeout", changes.timeout)
        validation.check_range("ephemeralStorage.size", changes.ephemeral_storage)
        validation.check_environment(changes.environment, self._environment_limit)
        validation.check_architectures(changes.architectures)

    @staticmethod
    def _apply(config: FunctionConfig, changes: ConfigChanges) -> FunctionConfig:
        updates: dict[str, Any] = {
            key: value
            for key, value in vars(changes).items()
            if value is not None and key != "architectures"
        }
        if changes.architectures is not None:
            updates["architectures"] = tuple(changes.architectures)
        return config.replace(**updates)

    def _touch(self, config: FunctionConfig) -> FunctionConfig:
        stamp = _timestamp(self._clock())
        return config.replace(revision_id=str(uuid.uuid4()), last_modified=stamp)

    @staticmethod
    def _check_revision(entry: FunctionEntry, revision_id: str | None) -> None:
        if revision_id is not None and revision_id != entry.latest.revision_id:
            raise PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id"
            )

    def _publish(self, entry: FunctionEntry) -> FunctionConfig:
        number = str(max((int(v) for v in entry.versions), default=0) + 1)
        version = entry.latest.replace(version=number, revision_id=str(uuid.uuid4()))
        entry.versions[number] = version
        return version

    def _save(self, entry: FunctionEntry) -> None:
        self._store.put(TABLE, entry.latest.name, entry.to_record())
        self._entries[entry.latest.name] = entry
