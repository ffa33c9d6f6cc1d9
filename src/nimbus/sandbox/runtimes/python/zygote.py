"""The runtime zygote: a pre-initialised interpreter that forks execution environments.

Started once per runtime as `python3.X -I -S zygote.py CONTROL_FD [LIB_DIR...]`. It
imports the runtime (and boto3, as Lambda's Python runtimes ship it) once; a cold
start is then a fork of this process instead of an interpreter start.

Control channel (SOCK_SEQPACKET, one JSON message per packet):
  platform -> zygote  {"kind": "spawn", "env_id": ..., "spec": {...}} + fds [env socket, log]
  zygote -> platform  {"kind": "spawned", "env_id": ..., "pid": N}
  zygote -> platform  {"kind": "exited", "pid": N, "status": exit code (negative: signal)}
"""

import json
import os
import select
import signal
import socket
import sys

RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, RUNTIME_DIR)

import bootstrap  # noqa: E402 - needs the path above
import wire  # noqa: E402

MAX_MESSAGE = 1 << 20
LIBRARIES = ("boto3", "botocore", "s3transfer", "urllib3", "jmespath", "dateutil", "six")


def preload(lib_dirs):
    """Import what every function would otherwise pay for on its first cold start."""
    sys.path.extend(lib_dirs)
    try:
        import boto3  # noqa: F401
        import botocore.session  # noqa: F401
    except Exception as exc:  # a library built for newer Pythons fails in many ways
        for name in [m for m in sys.modules if m.split(".")[0] in LIBRARIES]:
            del sys.modules[name]
        return f"{type(exc).__name__}: {exc}"
    return None


def send(control, message):
    control.sendall(json.dumps(message).encode())


def reap(control):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        send(
            control, {"kind": wire.EXITED, "pid": pid, "status": os.waitstatus_to_exitcode(status)}
        )


def spawn(control, wakeup_fds, message, fds):
    env_fd, log_fd = fds
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        control.close()
        for fd in wakeup_fds:
            os.close(fd)
        signal.set_wakeup_fd(-1)
        env_sock = socket.socket(fileno=env_fd)
        bootstrap.main(env_sock, log_fd, message["spec"])
    os.close(env_fd)
    os.close(log_fd)
    send(control, {"kind": wire.SPAWNED, "env_id": message["env_id"], "pid": pid})


def serve(control):
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        ready, _, _ = select.select([control, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
            reap(control)
        if control in ready:
            data, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 2)
            if not data:
                return
            message = json.loads(data)
            if message.get("kind") == wire.SPAWN and len(fds) == 2:
                spawn(control, (wake_r, wake_w), message, fds)
            else:
                for fd in fds:
                    os.close(fd)


def main():
    control = socket.socket(fileno=int(sys.argv[1]))
    problem = preload(sys.argv[2:])
    hello = {"kind": "hello", "pid": os.getpid(), "version": list(sys.version_info[:3])}
    send(control, dict(hello, boto3_error=problem))
    try:
        serve(control)
    except (BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
