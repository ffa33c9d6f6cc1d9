"""Run environments on this machine, forked from per-runtime zygotes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict

from nimbus.executor.base import Execution, ExecutorStats
from nimbus.sandbox.environment import Environment, Invocation
from nimbus.sandbox.factory import EnvironmentFactory
from nimbus.sandbox.spec import EnvironmentSpec

PoolKey = tuple[str, str, str]


class LocalExecutor:
    """Pools of idle warm environments per (function, version, revision)."""

    def __init__(self, factory: EnvironmentFactory, keep_warm_s: float) -> None:
        self._factory = factory
        self._keep_warm_s = keep_warm_s
        self._idle: dict[PoolKey, list[Environment]] = defaultdict(list)
        self._busy: set[Environment] = set()
        self._cold_starts = 0
        self._reaper: asyncio.Task[None] | None = None
        self._drained = asyncio.Event()

    async def start(self) -> None:
        await self._factory.start()
        self._reaper = asyncio.create_task(self._reap_forever())

    async def invoke(self, spec: EnvironmentSpec, invocation: Invocation) -> Execution:
        env, cold = await self._acquire(spec)
        self._busy.add(env)
        self._drained.clear()
        try:
            outcome = await env.invoke(invocation)
        except BaseException:
            env.close()
            raise
        finally:
            self._busy.discard(env)
        if cold:
            outcome = outcome.with_init(env.init_ms)
        if outcome.environment_lost or not env.alive:
            env.close()
        else:
            self._idle[spec.pool_key].append(env)
        if not self._busy:
            self._drained.set()
        return Execution(outcome=outcome, cold=cold, log_stream=env.log_stream)

    async def _acquire(self, spec: EnvironmentSpec) -> tuple[Environment, bool]:
        pool = self._idle.get(spec.pool_key)
        while pool:
            env = pool.pop()
            if env.alive:
                return env, False
            env.close()
        self._cold_starts += 1
        return await self._factory.create(spec), True

    def prewarm(self, interpreter: str) -> None:
        self._factory.prewarm(interpreter)

    async def retire(self, function_name: str) -> None:
        """Drop idle environments of a function (its code or configuration changed)."""
        for key in [key for key in self._idle if key[0] == function_name]:
            for env in self._idle.pop(key):
                env.close()

    def reap(self, now: float | None = None) -> int:
        """Close environments idle past the keep-warm time; returns how many."""
        now = time.monotonic() if now is None else now
        reaped = 0
        for key, pool in list(self._idle.items()):
            keep = [env for env in pool if now - env.last_used < self._keep_warm_s]
            for env in pool:
                if env not in keep:
                    env.close()
                    reaped += 1
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]
        return reaped

    async def _reap_forever(self) -> None:
        interval = max(0.05, min(self._keep_warm_s / 4, 10.0))
        while True:
            await asyncio.sleep(interval)
            self.reap()

    async def stop(self, grace_s: float) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        if self._busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), grace_s)
        for env in [*self._busy, *(env for pool in self._idle.values() for env in pool)]:
            env.close()
        self._idle.clear()
        self._busy.clear()
        self._factory.stop()

    def stats(self) -> ExecutorStats:
        return ExecutorStats(
            warm=sum(len(pool) for pool in self._idle.values()),
            busy=len(self._busy),
            cold_starts=self._cold_starts,
            zygotes=len(self._factory.zygotes),
        )
