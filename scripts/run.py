"""`make run`: start nimbus, deploy examples/hello, print how to use it, stay in the foreground."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

from nimbus.packaging import zip_directory

ROOT = Path(__file__).resolve().parent.parent
SNIPPET = """\
import boto3, json
lam = boto3.client("lambda", endpoint_url="{endpoint}", region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
reply = lam.invoke(FunctionName="hello", Payload=json.dumps({{"name": "you"}}))
print(json.load(reply["Payload"]))"""


def wait_ready(endpoint: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if server.poll() is not None:
            sys.exit(f"nimbus server exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"{endpoint}/_nimbus/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("nimbus server did not become ready in 30 s")


def deploy_hello(endpoint: str) -> str:
    client = boto3.client(
        "lambda", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip
    code = zip_directory(ROOT / "examples" / "hello")
    try:
        client.update_function_code(FunctionName="hello", ZipFile=code)
    except client.exceptions.ResourceNotFoundException:
        client.create_function(
            FunctionName="hello", Runtime=f"python{sys.version_info[0]}.{sys.version_info[1]}",
            Role="arn:aws:iam::000000000000:role/hello", Handler="lambda_function.handler",
            Code={"ZipFile": code},
        )  # fmt: skip
    reply = client.invoke(FunctionName="hello", Payload=json.dumps({"name": "nimbus"}))
    return reply["Payload"].read().decode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=7800)
    parser.add_argument("--data-dir", default=".nimbus")
    args = parser.parse_args()
    endpoint = f"http://127.0.0.1:{args.port}"
    command = [sys.executable, "-m", "nimbus", "server", "--port", str(args.port)]
    server = subprocess.Popen([*command, "--data-dir", args.data_dir])
    signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    try:
        wait_ready(endpoint, server)
        answer = deploy_hello(endpoint)
        print(f"\nnimbus is running at {endpoint} (data in {args.data_dir})")
        print("credentials: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test region us-east-1")
        print(f"deployed examples/hello as function 'hello'; it answered: {answer}\n")
        print("try it from Python:\n")
        print(SNIPPET.format(endpoint=endpoint))
        print("\nor: .venv/bin/nimbus invoke hello --payload '{\"name\": \"you\"}'")
        print("Ctrl-C stops the server.\n", flush=True)
        server.wait()
    except KeyboardInterrupt:
        server.send_signal(signal.SIGINT)
        server.wait()
    sys.exit(server.returncode or 0)


if __name__ == "__main__":
    main()
