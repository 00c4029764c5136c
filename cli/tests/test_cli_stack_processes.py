"""The processes a stack starts (the Clio sandbox, the services) never outlive the process that
started them: a `cashroom demo` or a benchmark killed outright (kill -9, an OOM kill, a CI
timeout) leaves nothing running behind it."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from cashroom_chassis.testing import process_gone, wait_until_gone
from cashroom_cli.stack import SERVICES, Stack

STARTER = textwrap.dedent(
    """
    import time
    from cashroom_cli.stack import Stack
    stack = Stack(database_url="", kafka_bootstrap_servers="", auth_signing_key="")
    stack.start_sandbox(["--firm", "tiny"], timeout=120)
    print(stack.sandbox.pid, stack.log_dir, flush=True)
    time.sleep(600)
    """
)


def test_the_sandbox_dies_with_a_killed_parent() -> None:
    parent = subprocess.Popen([sys.executable, "-c", STARTER], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid, logs = parent.stdout.readline().split()
    sandbox_pid = int(pid)
    assert not process_gone(sandbox_pid)
    try:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()

        assert wait_until_gone(sandbox_pid), "the Clio sandbox outlived the process that started it"
    finally:
        shutil.rmtree(logs, ignore_errors=True)


def test_a_service_whose_port_another_program_answers_on_is_not_taken_for_ready() -> None:
    """Ports are chosen free before the services start; another program can take one first.
    The service then cannot bind it and exits: the stack says so, naming the service and why,
    rather than passing the other program's answer for the service's own."""

    class Impostor(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # a service of another stack: ready, another pid
            body = json.dumps({"status": "ok", "ready": True, "pid": 1}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Impostor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    spec = next(s for s in SERVICES if s.name == "reconciliation")
    stack = Stack(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:9/none",
        kafka_bootstrap_servers="127.0.0.1:9",
        auth_signing_key="k",
        ports={"reconciliation": server.server_address[1]},
    )
    try:
        stack.start_service(spec)
        with pytest.raises((RuntimeError, TimeoutError)) as failed:
            stack.wait_ready(timeout=60)
        assert "reconciliation" in str(failed.value)
    finally:
        stack.stop()
        server.shutdown()
        shutil.rmtree(stack.log_dir, ignore_errors=True)
