"""The processes a stack starts (the Clio sandbox, the services) never outlive the process that
started them: a `cashroom demo` or a benchmark killed outright (kill -9, an OOM kill, a CI
timeout) leaves nothing running behind it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from cashroom_chassis.testing import process_gone, wait_until_gone

STARTER = textwrap.dedent(
    """
    import time
    from cashroom_cli.stack import Stack
    stack = Stack(database_url="", kafka_bootstrap_servers="", auth_signing_key="")
    stack.start_sandbox(["--firm", "tiny"], timeout=120)
    print(stack.sandbox.pid, flush=True)
    time.sleep(600)
    """
)


def test_the_sandbox_dies_with_a_killed_parent() -> None:
    parent = subprocess.Popen([sys.executable, "-c", STARTER], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    sandbox_pid = int(parent.stdout.readline())
    assert not process_gone(sandbox_pid)

    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()

    assert wait_until_gone(sandbox_pid), "the Clio sandbox outlived the process that started it"
