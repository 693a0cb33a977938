"""Work done alongside: a pure computation run in a forked child process while this one goes on.

A cold ``feebook run`` on a large estate spends over a second in pure-Python engine work on one
core while the machine's other core idles.  Some of that work is independent once the
allocation is made — the 收缴率 rows need the allocation, not the 欠费明细 — so a child process
computes them while this process goes on with the rest.

``fork`` gives the child this process's memory as it is (copy-on-write): the ledger and the
allocation are not pickled on the way in; only the result (a few hundred rows) comes back,
pickled, through a pipe.  The function must be pure (no files written, nothing printed).

Only on Linux: fork is absent on Windows (where Excel runs the add-in) and unsafe with macOS's
system frameworks.  Elsewhere, when ``FEEBOOK_FORK=0``, when the caller judges the work too
small to be worth a process, or when the fork fails, the function simply runs in this process
when its result is asked for.  A child that fails in any way (an exception, a signal, a result
that does not unpickle) changes nothing either: the function then runs here, so the result —
or the exception — is exactly the one of running it here.
"""
from __future__ import annotations

import atexit
import os
import pickle
import signal
import sys
from typing import Any, Callable

# below this many records (应收 + 收款 rows), starting a process costs more than it saves
WORTH_A_PROCESS = 20_000


def can_fork() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork") and os.environ.get("FEEBOOK_FORK", "1") != "0"


class Alongside:
    """``fn(*args)`` computed in a forked child (when ``fork`` and :func:`can_fork`); :meth:`result` gives it."""

    def __init__(self, fn: Callable[..., Any], *args, fork: bool = True):
        self._fn, self._args = fn, args
        self._pid = self._fd = None
        if not (fork and can_fork()):
            return
        try:
            read_end, write_end = os.pipe()
        except OSError:
            return
        try:
            pid = os.fork()
        except OSError:  # no memory or process slot for a child: compute here
            os.close(read_end)
            os.close(write_end)
            return
        if pid == 0:  # the child: compute, hand the pickled result over, leave without cleanup handlers
            code = 1
            try:
                os.close(read_end)
                data = pickle.dumps(fn(*args), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write_end, "wb") as out:
                    out.write(data)
                code = 0
            except BaseException:  # noqa: BLE001 — the parent computes it again and meets the error itself
                pass
            finally:
                os._exit(code)
        os.close(write_end)
        self._pid, self._fd = pid, read_end

    @property
    def forked(self) -> bool:
        return self._pid is not None

    def result(self):
        """The function's result: the child's, else computed here (its exception raised here)."""
        if self._pid is not None:
            pid, fd = self._pid, self._fd
            self._pid = self._fd = None
            data = b""
            try:
                with os.fdopen(fd, "rb") as f:
                    data = f.read()
            finally:
                status = os.waitpid(pid, 0)[1]
            if status == 0 and data:
                try:
                    return pickle.loads(data)
                except Exception:  # noqa: BLE001 — a damaged result: compute it here
                    pass
        return self._fn(*self._args)

    def cancel(self) -> None:
        """The result is no longer wanted (the caller failed): stop the child and reap it."""
        if self._pid is not None:
            pid, fd = self._pid, self._fd
            self._pid = self._fd = None
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            os.close(fd)
            os.waitpid(pid, 0)

    def __enter__(self) -> "Alongside":
        return self

    def __exit__(self, *exc) -> None:
        self.cancel()


_detached: list[int] = []  # children doing work whose result nobody waits for (cache entries)


def detached(fn: Callable[..., Any], *args, fork: bool = True) -> bool:
    """Run ``fn(*args)`` in a forked child nobody waits for (when ``fork`` and :func:`can_fork`),
    else here; True if a child took it.  The child is reaped by :func:`wait_detached` (called
    before the next such work, and when the program ends)."""
    if fork and can_fork():
        reap_detached()
        try:
            pid = os.fork()
        except OSError:
            pid = None
        if pid == 0:
            try:
                fn(*args)
            finally:
                os._exit(0)
        if pid:
            if not _detached:
                atexit.register(wait_detached)
            _detached.append(pid)
            return True
    fn(*args)
    return False


def reap_detached() -> None:
    """Reap the detached children that have finished (none is waited for)."""
    for pid in list(_detached):
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _detached.remove(pid)


def wait_detached() -> None:
    """Wait until every detached child has finished (its files are written)."""
    while _detached:
        pid = _detached.pop()
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
