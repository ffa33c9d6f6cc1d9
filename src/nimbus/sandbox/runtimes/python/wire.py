"""Frames exchanged between the platform and an environment over a stream socket.

A frame is `>II` (header length, body length), a JSON header, then raw body bytes.
The header always has a "kind"; the body carries payloads without re-encoding them.
"""

import json
import struct

PREFIX = struct.Struct(">II")

# platform -> environment
INVOKE = "invoke"
# environment -> platform
READY = "ready"
INIT_ERROR = "init_error"
RESULT = "result"
# zygote <-> platform control channel
SPAWN = "spawn"
SPAWNED = "spawned"
EXITED = "exited"


def encode(header: dict, body: bytes = b"") -> bytes:  # type: ignore[type-arg]
    raw = json.dumps(header, separators=(",", ":")).encode()
    return PREFIX.pack(len(raw), len(body)) + raw + body


def _read_exact(sock, size):
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("peer closed the channel")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(sock):
    """Blocking read of one frame from a socket; raises EOFError at end of stream."""
    head_len, body_len = PREFIX.unpack(_read_exact(sock, PREFIX.size))
    header = json.loads(_read_exact(sock, head_len))
    body = _read_exact(sock, body_len) if body_len else b""
    return header, body
