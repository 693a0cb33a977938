"""Never re-parse a sheet that did not change: a per-sheet cache of parsed records.

The writer rewrites only the sheets that change (``save_changes``), so between
two runs the big input sheets (应收 with 100,000+ rows, 抄表) usually keep
exactly the same bytes in the .xlsx package.  Their parsed records (and their
问题 rows) are kept in a cache file per workbook and sheet; a run reads and
parses only the sheets whose bytes changed.

A cache entry is used only when all of these are unchanged: the sheet's part
name, CRC-32 and sizes in the zip directory; the CRC-32 and sizes of
workbook.xml (sheet names, hidden flags), sharedStrings.xml and styles.xml
(which decide text and date values); and the code that parses (a digest of
the parser's source files and the Python version).  Anything unreadable in
the cache is ignored and the sheet is parsed again: the cache can make a run
faster, never different.

Where: ``$FEEBOOK_CACHE_DIR`` or the user's cache folder
(``%LOCALAPPDATA%\\feebook\\cache`` on Windows, ``~/.cache/feebook`` elsewhere),
never beside the workbook; ``FEEBOOK_CACHE=0`` turns it off.  Cache files are
pickles written by this program for this user only (the folder is created
private); like any pickle, they must not come from anyone else.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import operator
import os
import pickle
import sys
import tempfile
import zipfile
from itertools import repeat
from pathlib import Path
from typing import Optional

from ..alongside import detached, wait_detached, worth_a_process
from ..ledger import records as records_module
from ..ledger import schema
from ..ledger.records import Ledger, Source
from . import parse
from .reader import WorkbookError, check_xlsx_file, read_workbook, sheet_parts

_SHARED_PARTS = ("xl/workbook.xml", "xl/sharedStrings.xml", "xl/styles.xml")
MIN_ROWS_TO_CACHE = 200  # small sheets parse faster than a cache file loads


def _code_version() -> str:
    here = Path(__file__).resolve().parent
    digest = hashlib.sha1(sys.version.encode())
    for source in (here / "parse.py", here / "reader.py", here / "raw.py", here / "cache.py",
                   here.parent / "ledger" / "records.py",
                   here.parent / "ledger" / "schema.py", here.parent / "ledger" / "periods.py",
                   here.parent / "ledger" / "money.py"):
        digest.update(source.read_bytes())
    return digest.hexdigest()


CODE_VERSION = _code_version()


def cache_dir() -> Optional[Path]:
    if os.environ.get("FEEBOOK_CACHE", "1") == "0":
        return None
    configured = os.environ.get("FEEBOOK_CACHE_DIR")
    if configured:
        return Path(configured)
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "feebook" / "cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "feebook"


def sheet_keys(path) -> dict[str, tuple]:
    """Input sheet name → the key its cached records must match (``path``: a path or a file object)."""
    with zipfile.ZipFile(path) as z:
        infos = {i.filename: i for i in z.infolist()}
        parts = sheet_parts(z)
    shared = tuple((n, infos[n].CRC, infos[n].file_size) for n in _SHARED_PARTS if n in infos)
    keys = {}
    for p in parts:
        info = infos.get(p.get("part") or "")
        if p["name"] in parse.RECORD_SHEETS and info is not None:
            keys[p["name"]] = (p["part"], info.CRC, info.file_size, info.compress_size, shared, CODE_VERSION)
    return keys


def _entry_file(folder: Path, path: Path, sheet: str) -> Path:
    name = hashlib.sha1(f"{path.resolve()}\0{sheet}".encode("utf-8")).hexdigest()
    return folder / f"{name}.pickle"


def _pack(records: list):
    """Records of one sheet as columns of their field values (and the source cells).

    Columns pickle and load several times faster than the records themselves, and
    the column-at-a-time parse gives every repeated amount, date or period the same
    object, which pickle then writes once; the records are rebuilt through their
    constructors.  The parse hands over its own columns when it made every record from
    them (:class:`parse.ColumnRecords`); a column of distinct texts (账单号, the cells) is
    written as one text joined by NUL, which pickles and splits at C speed.
    """
    if not records:
        return None
    cls = records[0].__class__
    names = [f.name for f in dataclasses.fields(cls)]
    if names[-1] != "source":
        return None
    made = getattr(records, "columns", None)
    if made is not None and len(made) == len(names) - 1:
        columns, cells = list(made), records.cells
    else:
        if any(r.__class__ is not cls for r in records):
            return None
        columns = [list(map(operator.attrgetter(name), records)) for name in names[:-1]]
        cells = [r.source.cell for r in records]
    return (cls.__name__, records[0].source.sheet, [_joined(c) for c in columns], _joined(cells))


def _joined(column: list):
    """A column of mostly distinct texts → one text joined by NUL; any other column as it is."""
    sample = column[:200]  # distinct texts (a sample decides: either way the column reads back the same)
    if len(column) < 2 or len(set(map(id, sample))) * 2 <= len(sample) or set(map(type, column)) != {str}:
        return column
    joined = "\0".join(column)
    return joined if joined.count("\0") == len(column) - 1 else column


def _split(column):
    return column.split("\0") if isinstance(column, str) else column


def _unpack(packed) -> list:
    name, sheet, columns, cells = packed
    cls = getattr(records_module, name)
    return list(map(cls, *map(_split, columns), map(Source, repeat(sheet), _split(cells))))


def _load_entry(file: Path, key: tuple):
    """(records, problems, header row) of a cached sheet, or None."""
    try:
        with open(file, "rb") as f:
            stored_key, packed, problems = pickle.load(f)
        if stored_key != key:
            return None
        return _unpack(packed[:4]), problems, list(packed[4])
    except Exception:  # missing, truncated, from another version: parse again
        return None


def _store_entry(folder: Path, file: Path, key: tuple, records: list, problems: list, headers=()) -> None:
    packed = _pack(records)
    if packed is None:
        return
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            # the header row rides along so that problems can name exact cells of a cached sheet
            pickle.dump((key, packed + (tuple(headers),), problems), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, file)
        tmp = None
    except OSError:
        pass  # a cache that cannot be written (disk full) only makes the next run slower
    finally:
        if tmp is not None:  # never leave a half-written temp file behind
            try:
                os.unlink(tmp)
            except OSError:
                pass


def load_ledger(path) -> Ledger:
    """Like ``parse_ledger(read_workbook(path, INPUT_SHEETS))``, reading and parsing only changed sheets.

    One snapshot of the file's bytes serves the cache keys, the sheet names and the reader, so
    cached and fresh sheets always come from the same version of the file; the fresh sheets'
    entries are written once every sheet is parsed (by a child process on a large ledger).
    """
    path = check_xlsx_file(path)  # a file that is no workbook is refused here, with the reader's message
    wait_detached()  # entries of an earlier load still being written
    try:
        package = path.read_bytes()
    except OSError as e:
        raise WorkbookError(f"无法读取工作簿文件“{path.name}”（{e.strerror or e}）") from None
    folder = cache_dir()
    try:
        keys = sheet_keys(io.BytesIO(package)) if folder is not None else {}
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        folder, keys = None, {}  # let the reader say what is wrong with the file
    names = sheet_names(io.BytesIO(package), path.name)  # a damaged workbook.xml (DOCTYPE, truncated) is refused here
    reused: dict[str, tuple] = {}
    for name, key in keys.items():
        entry = _load_entry(_entry_file(folder, path, name), key)
        if entry is not None:
            reused[name] = entry
    wanted = [name for name in schema.INPUT_SHEETS if name not in reused]
    fresh: dict[str, tuple] = {}
    entries: list[tuple] = []  # the fresh sheets' cache entries, written once all are parsed

    def parse_while_reading(name: str, sheet) -> None:  # overlaps calamine loading the next sheet
        if name not in parse.RECORD_SHEETS:
            return
        records, problems = fresh[name] = parse.parse_sheet(name, {name: sheet}, names)
        if name in keys and sheet.row_count >= MIN_ROWS_TO_CACHE and not sheet.refused:
            entries.append((_entry_file(folder, path, name), keys[name], records, problems, sheet.headers))
        # its cells are records now: let them go (the header row still names cells)
        sheet.rows, sheet.columns = [], None

    raw = read_workbook(path, wanted, clean=False, on_sheet=parse_while_reading, package=package,
                        columnar={name: plan.dates for name, plan in parse.COLUMNAR.items()})
    for name in parse.RECORD_SHEETS:  # sheets not in the file: the parser says what is missing
        if name not in reused and name not in fresh:
            fresh[name] = parse.parse_sheet(name, raw, names)
    parsed = {name: (records, problems) for name, (records, problems, _h) in reused.items()}
    parsed.update(fresh)
    headers = {name: h for name, (_r, _p, h) in reused.items()}
    ledger = parse.parse_ledger(raw, parsed=parsed, sheet_names=names, headers=headers)
    if entries:
        # pickling a large ledger's entries takes a while: on Linux a child process writes them
        # while this one goes on with the run (alongside.py); the next load waits for it first
        rows = sum(len(entry[2]) for entry in entries)
        detached(_store_entries, folder, entries, fork=worth_a_process(rows))
    return ledger


def _store_entries(folder: Path, entries: list) -> None:
    for entry in entries:
        _store_entry(folder, *entry)


def sheet_names(path, file_name: str = "") -> list[str]:
    """Every sheet name of the workbook (a path or a file object), in order (a damaged package → WorkbookError)."""
    try:
        with zipfile.ZipFile(path) as z:
            return [p["name"] for p in sheet_parts(z)]
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        name = file_name or Path(path).name
        raise WorkbookError(f"工作簿“{name}”已损坏，无法读取（{e}），请从 备份 文件夹恢复") from None
