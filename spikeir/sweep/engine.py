"""Where a sweep's tasks run: on Ray (core tasks), or in this process when Ray is not installed.

Both engines offer the same four operations, so the sweep's scheduler is one piece of code: ``put`` a
value once (the evaluation set; a compiled program), ``submit`` a function with arguments (handles
from ``put`` or ``submit`` included, which the engine resolves where the task runs), ``wait`` for any
one of several handles, and ``get`` its value (raising what the task raised).

On Ray every task asks for one CPU and is retried up to `MAX_RETRIES` times when its worker process
dies (Ray's ``max_retries`` re-executes a task whose worker crashed; an exception *raised* by the task
is not retried: it is an answer, recorded as the point's failure).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args

from spikeir.sweep.space import SweepError

EngineKind = Literal["auto", "ray", "local"]
MAX_RETRIES = 3
"""Re-executions of a task whose worker died (a killed or crashed process), before the point fails."""
CONNECT_SECONDS = 5.0
"""How long `check_address` waits for a cluster to answer."""
NO_RAY = "Ray is not installed (pip install 'spikeir[sweep]'): the sweep runs in this process, one task at a time"


class Engine(Protocol):
    """What the sweep needs from an execution engine (see the module docstring)."""

    name: str
    workers: int
    """Tasks that can run at once."""
    note: str
    """One line for the user: where the tasks run."""

    def put(self, value: Any) -> Any: ...
    def submit(self, function: Callable[..., Any], *args: Any, num_returns: int = 1) -> list[Any]: ...
    def wait(self, handles: Sequence[Any]) -> Any: ...
    def get(self, handle: Any) -> Any: ...
    def close(self) -> None: ...


@dataclass(eq=False)
class _Done:
    """A finished in-process task: its value, or what it raised (a handle: hashed by identity)."""

    value: Any = None
    error: BaseException | None = None


class LocalEngine:
    """Runs each task when it is submitted, in this process (no parallelism, nothing to install)."""

    name = "local"
    workers = 1

    def __init__(self, note: str = "in this process, one task at a time") -> None:
        self.note = note

    def put(self, value: Any) -> _Done:
        return _Done(value)

    def submit(self, function: Callable[..., Any], *args: Any, num_returns: int = 1) -> list[_Done]:
        resolved = [arg.value if isinstance(arg, _Done) else arg for arg in args]
        try:
            value = function(*resolved)
        except Exception as error:  # noqa: BLE001 - a task's failure is its answer, as on Ray
            return [_Done(error=error) for _ in range(num_returns)]
        return [_Done(v) for v in value] if num_returns > 1 else [_Done(value)]

    def wait(self, handles: Sequence[Any]) -> Any:
        return handles[0]

    def get(self, handle: Any) -> Any:
        if handle.error is not None:
            raise handle.error
        return handle.value

    def close(self) -> None:
        """Nothing to release."""


class RayEngine:
    """Ray core tasks: on the cluster at ``address``, on a Ray already started in this process, or on a
    local Ray started here with ``workers`` CPUs (default: every core) and shut down by `close`."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        import ray

        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            settings: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.WARNING,
            }
            if address:
                ray.init(address=address, **settings)
            else:
                ray.init(num_cpus=workers or os.cpu_count() or 1, **settings)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = min(workers, cpus) if workers else cpus
        where = f"the Ray cluster at {address}" if address and self._started else "Ray"
        self.note = f"on {where}: {self.workers} task(s) at once ({cpus} CPU(s) in the cluster)"
        self._remotes: dict[tuple[Callable[..., Any], int], Any] = {}

    def put(self, value: Any) -> Any:
        return self._ray.put(value)

    def submit(self, function: Callable[..., Any], *args: Any, num_returns: int = 1) -> list[Any]:
        key = (function, num_returns)
        if key not in self._remotes:
            self._remotes[key] = self._ray.remote(function).options(
                num_cpus=1, num_returns=num_returns, max_retries=MAX_RETRIES
            )
        refs = self._remotes[key].remote(*args)
        return list(refs) if num_returns > 1 else [refs]

    def wait(self, handles: Sequence[Any]) -> Any:
        ready, _ = self._ray.wait(list(handles), num_returns=1)
        return ready[0]

    def get(self, handle: Any) -> Any:
        return self._ray.get(handle)

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()


def ray_available() -> bool:
    """Whether Ray can be imported (the ``sweep`` extra is installed)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def check_address(address: str) -> None:
    """Raise `SweepError` unless ``address`` (``host:port`` or ``ray://host:port``; ``auto`` is Ray's own
    search) accepts a connection within `CONNECT_SECONDS`: ``ray.init`` would retry an unreachable one
    for minutes."""
    if address in ("auto", "local"):
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise SweepError(f"a Ray address is host:port or ray://host:port, got '{address}'", "--address")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        raise SweepError(f"cannot reach a Ray cluster at {address}: {error.strerror or error}", "--address") from None


def check_engine(kind: EngineKind = "auto", address: str | None = None, workers: int | None = None) -> None:
    """Raise `SweepError` for engine settings that cannot work, before any work (or Ray's start)."""
    if kind not in get_args(EngineKind):
        raise SweepError(f"the engine must be auto, ray or local, got {kind!r}", "--engine")
    if workers is not None and workers < 1:
        raise SweepError(f"workers must be at least 1, got {workers}", "--workers")
    if kind == "local" and address:
        raise SweepError("--address needs the Ray engine, not --engine local", "--address")
    if (kind == "ray" or address) and not ray_available():
        raise SweepError("Ray is not installed: pip install 'spikeir[sweep]' (or run with --engine local)", "--engine")
    if address:
        check_address(address)


def make_engine(kind: EngineKind = "auto", address: str | None = None, workers: int | None = None) -> Engine:
    """The engine ``kind`` names; ``auto`` is Ray when it is installed, else in-process (its note says so)."""
    check_engine(kind, address, workers)
    if kind == "local":
        return LocalEngine()
    return RayEngine(address, workers) if ray_available() else LocalEngine(NO_RAY)
