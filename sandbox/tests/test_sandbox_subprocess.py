"""The real server as a subprocess: `python -m clio_sandbox` on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serves_a_firm_over_http() -> None:
    port = _free_port()
    redirect = f"http://127.0.0.1:{port}/callback"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "clio_sandbox",
            "--firm",
            "tiny",
            "--seed",
            "3",
            "--port",
            str(port),
            "--rate-limit",
            "off",
            "--redirect-uri",
            redirect,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/_control/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else b""
            assert time.monotonic() < deadline
            time.sleep(0.2)
        auth = httpx.get(
            f"{base}/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": "cashroom-sandbox",
                "redirect_uri": redirect,
                "state": "s",
            },
        )
        code = httpx.URL(auth.headers["location"]).params["code"]
        tok = httpx.post(
            f"{base}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": "cashroom-sandbox",
                "client_secret": "cashroom-sandbox-secret",
                "redirect_uri": redirect,
            },
        ).json()
        resp = httpx.get(
            f"{base}/api/v4/matters.json",
            params={"fields": "id,display_number", "order": "id(asc)"},
            headers={"Authorization": f"Bearer {tok['access_token']}"},
        )
        assert resp.status_code == 200 and resp.json()["data"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
