"""Safety around a write: refusal errors, the Office/LibreOffice lock files, the feebook process lock, backups, temp files."""
from __future__ import annotations

import datetime as dt
import getpass
import os
import re
import shutil
import time
from pathlib import Path

from .reader import (
    WorkbookError,
)

LOCK_TIMEOUT = 10.0  # seconds a second writer waits for the first
BACKUP_DIR = "备份"


class WorkbookLocked(WorkbookError):
    """The workbook is open in Excel/WPS/LibreOffice or being written by another feebook."""

    retryable = True  # a refused write, not a bad file: the CLI exits 1


class WorkbookChanged(WorkbookError):
    """The workbook on disk is not the one that was read (someone saved it meanwhile)."""

    retryable = True


class WorkbookWriteFailed(WorkbookError, OSError):
    """Writing the new file failed (disk full, no permission…); the workbook on disk is untouched."""

    retryable = True


def _write_failed(path: Path, exc: OSError) -> WorkbookWriteFailed:
    import errno

    name = path.name
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        text = f"磁盘空间不足，工作簿“{name}”未写入（原文件未改动），请清理磁盘空间后重试"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        text = f"没有写入权限，工作簿“{name}”未写入（原文件未改动）：请检查文件夹权限或文件是否被其他程序占用"
    else:
        text = f"写入工作簿“{name}”失败（{exc.strerror or exc}），原文件未改动，请重试"
    return WorkbookWriteFailed(text)



def check_writable(path: Path) -> None:
    """Refuse a read-only workbook (as Excel does) or a folder we may not write in — before any work."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # a missing file is reported by the reader
    if not mode & 0o222 or not os.access(path, os.W_OK):
        raise WorkbookWriteFailed(
            f"工作簿“{path.name}”是只读文件，程序不会覆盖它（Excel 也只能以只读方式打开）；"
            f"请在文件属性中取消“只读”，或另存一份后再运行（原文件未改动）")
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WorkbookWriteFailed(
            f"没有写入权限：不能在文件夹“{folder}”中写入（需要写入临时文件和备份），"
            f"工作簿“{path.name}”未写入（原文件未改动）；请把工作簿复制到有写入权限的文件夹")


# --------------------------------------------------------------------------- locks


def office_lock_files(path: Path) -> list[tuple[Path, str]]:
    """Lock files that say the workbook is open in another program."""
    return [
        (path.with_name("~$" + path.name), "Excel/WPS"),
        (path.with_name(".~lock." + path.name + "#"), "LibreOffice"),
    ]


def check_not_open(path: Path) -> None:
    for lock, program in office_lock_files(path):
        if lock.exists():
            raise WorkbookLocked(
                f"工作簿“{path.name}”正在被 {program} 打开（发现锁文件“{lock.name}”），"
                f"请先关闭该工作簿后再运行；如果确认没有打开，请删除这个锁文件后重试。")


class _ProcessLock:
    """An OS lock on ``.name.xlsx.feebook-lock``: released by the OS if the process dies."""

    def __init__(self, path: Path, timeout: float):
        self.lock_path = path.with_name("." + path.name + ".feebook-lock")
        self.workbook = path
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only folder or drive: say so, never an internal error
            raise _write_failed(self.workbook, exc) from None
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                _try_lock(fd)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise WorkbookLocked(
                        f"另一个收费大表程序正在写入工作簿“{self.workbook.name}”（锁文件“{self.lock_path.name}”），"
                        f"等待 {self.timeout:g} 秒后仍未结束，请稍后重试。") from None
                time.sleep(0.05)
        self.fd = fd
        return self

    def __exit__(self, *exc):
        try:
            _unlock(self.fd)
        finally:
            os.close(self.fd)
        # The lock file is left in place: deleting it would let a waiting
        # process lock an unlinked file while a third creates a new one.


try:
    import fcntl

    def _try_lock(fd):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd):
        fcntl.flock(fd, fcntl.LOCK_UN)
except ImportError:  # Windows
    import msvcrt

    def _try_lock(fd):
        os.lseek(fd, 0, 0)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd):
        os.lseek(fd, 0, 0)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


# --------------------------------------------------------------------------- backups

def _backup(path: Path, keep: int, now: dt.datetime) -> Path | None:
    if keep <= 0:
        return None
    folder = path.parent / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    # same second as an earlier backup: number after the highest existing one (not the
    # first free one, which pruning may have freed and which would then sort as oldest)
    same = [b for b in list_backups(path) if b.stem.startswith(f"{path.stem}_{stamp}")]
    n = 0
    if same:
        m = re.search(r"-(\d+)$", same[-1].stem[len(path.stem) + 1 + len(stamp):])
        n = (int(m.group(1)) if m else 0) + 1
    target = folder / (f"{path.stem}_{stamp}{path.suffix}" if n == 0 else f"{path.stem}_{stamp}-{n}{path.suffix}")
    while target.exists():
        n += 1
        target = folder / f"{path.stem}_{stamp}-{n}{path.suffix}"
    # copy under a temp name, then rename: a half-copied backup never looks like a backup
    tmp = folder / f".{target.name}.feebook-tmp"
    try:
        shutil.copy2(path, tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    _prune_backups(folder, path, keep)
    return target


def list_backups(path) -> list[Path]:
    """Backups of ``path`` in 备份/, oldest first."""
    path = Path(path)
    folder = path.parent / BACKUP_DIR
    if not folder.is_dir():
        return []
    pat = re.compile(rf"^{re.escape(path.stem)}_(\d{{8}}-\d{{6}})(?:-(\d+))?{re.escape(path.suffix)}$")
    found = []
    for f in folder.iterdir():
        m = pat.match(f.name)
        if m:
            found.append(((m.group(1), int(m.group(2) or 0)), f))
    return [f for _k, f in sorted(found)]


def _prune_backups(folder: Path, path: Path, keep: int) -> None:
    backups = list_backups(path)
    for old in backups[:-keep]:
        try:
            old.unlink()
        except OSError:
            pass



def _before_replace_hook(tmp: Path, path: Path) -> None:
    """Test seam (crash-safety tests make this sleep so a kill lands here)."""


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some services): still log something
        return "未知用户"


def _cleanup_stray_temps(path: Path) -> None:
    """Remove temp files left by a killed feebook (safe: we hold the workbook's process lock)."""
    for f in path.parent.glob(f".{glob_escape(path.name)}.*.feebook-tmp"):
        try:
            f.unlink()
        except OSError:
            pass


def glob_escape(s: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", s)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)




def publish_with_record(target: Path, write, record) -> None:
    """An export file and the workbook rows that record it, both or neither.

    ``write(tmp)`` writes the file under a temp name in ``target``'s folder (fsynced), ``record()``
    writes the workbook (托收批次, 开票 …), and only then does the file take its name; if either
    fails, the temp file is removed and no export appears without its record.
    """
    import tempfile

    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        record()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
