"""Async framing of the platform's end of an environment socket."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from nimbus.sandbox.runtimes.python import wire


class Channel:
    """Reads and writes `wire` frames over an asyncio stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, sock: socket.socket) -> Channel:
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=1 << 20)
        return cls(reader, writer)

    def send(self, header: dict[str, Any], body: bytes = b"") -> None:
        self._writer.write(wire.encode(header, body))

    async def receive(self) -> tuple[dict[str, Any], bytes]:
        """One frame; raises EOFError when the environment has gone away."""
        try:
            prefix = await self._reader.readexactly(wire.PREFIX.size)
            head_len, body_len = wire.PREFIX.unpack(prefix)
            header = json.loads(await self._reader.readexactly(head_len))
            body = await self._reader.readexactly(body_len) if body_len else b""
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise EOFError("environment closed its channel") from exc
        return header, body

    def close(self) -> None:
        self._writer.close()
