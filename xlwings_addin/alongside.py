"""Work done alongside: a forked child process takes part of a command's work while this one goes on.

A cold ``feebook run`` on a large estate spends over a second in pure-Python engine work, and a
Python process uses one core at a time.  Each unit's account is replayed on its own, so a child
process can replay half of the units while this one replays the other half
(:class:`Partner`: the two talk through pipes while they work, see jobs/ledger.py); and the parse
cache's entries can be pickled and written by a child nobody waits for (:func:`detached`).

``fork`` gives the child this process's memory as it is (copy-on-write): the ledger is not
pickled on the way in; only what the child has to say (a few thousand rows) comes back, pickled.
What a child runs must be pure (no files written but its own, nothing printed).

Only on Linux: fork is absent on Windows (where Excel runs the add-in) and unsafe with macOS's
system frameworks.  Elsewhere, when ``FEEBOOK_FORK=0``, when the caller judges the work too
small to be worth a process (:data:`WORTH_A_PROCESS`), or when the fork fails, the caller does
the work itself; and a child that fails in any way (an exception, a signal, a message that does
not unpickle) raises :class:`PartnerLost` here, and the caller then does the whole work itself:
a child can change when a result is ready, never what it is.
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
# A child's memory is this process's only until either writes to it, and in Python reading an object
# writes to it (its reference count): every page the child or this process reads after the fork is
# copied.  Two processes working through the same records so hold up to twice the records' memory;
# above this many records (about 10,000 units × 12 quarters) that would take a large estate past
# what the command promises (2 GB at 20,000 units: 2.2 GB over both processes, measured), so its work
# is done in one process.
MOST_TO_SHARE = 500_000


def can_fork() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork") and os.environ.get("FEEBOOK_FORK", "1") != "0"


def worth_a_process(records: int) -> bool:
    """Work over this many records is worth a child process: enough that the child saves more time than
    it costs, few enough that the pages both processes copy stay within the memory promised."""
    return WORTH_A_PROCESS <= records <= MOST_TO_SHARE


class PartnerLost(Exception):
    """The child process ended without saying what it was to say (an error, a signal, a kill)."""


def _write_message(fd: int, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(8, "little") + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise PartnerLost("the other process ended")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_message(fd: int):
    size = int.from_bytes(_read_exactly(fd, 8), "little")
    data = _read_exactly(fd, size)
    try:
        return pickle.loads(data)
    except Exception as e:  # noqa: BLE001
        raise PartnerLost(f"a damaged message ({e})") from None


class Channel:
    """One end of a two-way conversation between the two processes of a :class:`Partner`."""

    def __init__(self, read_fd: int, write_fd: int):
        self._read, self._write = read_fd, write_fd

    def send(self, obj) -> None:
        try:
            _write_message(self._write, obj)
        except OSError as e:  # the other end is closed: it ended
            raise PartnerLost(str(e)) from None

    def receive(self):
        return _read_message(self._read)


class Partner:
    """``fn(channel, *args)`` in a forked child that talks with this process while both work.

    There is no fallback inside: the caller decides what to do when :attr:`forked` is False or a
    call raises :class:`PartnerLost` (do the whole work itself).
    The child's return value is its last message (:meth:`result`).
    """

    def __init__(self, fn: Callable[..., Any], *args, fork: bool = True):
        self._pid = None
        self.channel: Channel | None = None
        if not (fork and can_fork()):
            return
        try:
            down = os.pipe()  # this process → the child
            up = os.pipe()  # the child → this process
        except OSError:
            return
        try:
            pid = os.fork()
        except OSError:
            for fd in (*down, *up):
                os.close(fd)
            return
        if pid == 0:
            code = 1
            try:
                os.close(down[1])
                os.close(up[0])
                channel = Channel(down[0], up[1])
                channel.send(("result", fn(channel, *args)))
                code = 0
            except BaseException:  # noqa: BLE001 — the parent sees PartnerLost and does the work itself
                pass
            finally:
                os._exit(code)
        os.close(down[0])
        os.close(up[1])
        self._pid = pid
        self.channel = Channel(up[0], down[1])

    @property
    def forked(self) -> bool:
        return self._pid is not None

    def result(self):
        """The child's return value (PartnerLost if it ended otherwise)."""
        if self.channel is None:
            raise PartnerLost("no child process")
        try:
            kind, value = self.channel.receive()
        except BaseException:
            self.cancel()
            raise
        self._close(wait=True)  # it has said its last: it is leaving
        if kind != "result":
            raise PartnerLost("the child said something else at the end")
        return value

    def cancel(self) -> None:
        """Close the conversation and reap the child, stopping it if it still runs."""
        self._close(wait=False)

    def _close(self, wait: bool) -> None:
        if self._pid is None:
            return
        pid, channel = self._pid, self.channel
        self._pid, self.channel = None, None
        for fd in (channel._read, channel._write):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            if not wait:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    return  # it had ended
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            os.waitpid(pid, 0)
        except ChildProcessError:  # already reaped (a program that ignores SIGCHLD has no zombies to reap)
            pass

    def __enter__(self) -> "Partner":
        return self

    def __exit__(self, *exc) -> None:
        self.cancel()


# children doing work whose result nobody waits for (cache entries): (pid, the work's arguments).  The
# arguments are kept here until the child is reaped: freeing them would write to (decrement the
# counts of) objects the child is reading, and every page so written is copied — measured: 0.17 s
# after a 5,000-unit load, where freeing them without a child costs 0.05 s.
_detached: list[tuple[int, tuple]] = []
_at_exit: list = []  # wait_detached, once registered to run when the program ends


def detached(fn: Callable[..., Any], *args, fork: bool = True) -> bool:
    """Run ``fn(*args)`` in a forked child nobody waits for (when ``fork`` and :func:`can_fork`),
    else here; True if a child took it.  The child runs at the lowest priority, on a core the
    command leaves idle (while it writes its output, say), not on one the command's own work
    needs.  It is reaped by :func:`wait_detached` (called before the next such work, and when the
    program ends)."""
    if fork and can_fork():
        reap_detached()
        try:
            pid = os.fork()
        except OSError:
            pid = None
        if pid == 0:
            try:
                os.nice(19)
                fn(*args)
            finally:
                os._exit(0)
        if pid:
            if not _at_exit:
                _at_exit.append(atexit.register(wait_detached))
            _detached.append((pid, args))
            return True
    fn(*args)
    return False


def reap_detached() -> None:
    """Reap the detached children that have finished (none is waited for)."""
    for entry in list(_detached):
        try:
            done, _status = os.waitpid(entry[0], os.WNOHANG)
        except ChildProcessError:
            done = entry[0]
        if done:
            _detached.remove(entry)


def wait_detached() -> None:
    """Wait until every detached child has finished (its files are written)."""
    while _detached:
        pid, _args = _detached.pop()
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
