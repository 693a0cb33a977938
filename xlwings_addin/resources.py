"""Where the shipped files live: Word templates (``letters``), bank profiles
(``bank_profiles``) and the empty workbook template (``workbooks``).

Looked up in this order:

1. the center's own folder beside its workbook, ``<workbook 所在文件夹>/模板/``
   (Word templates directly in it, bank profiles in ``模板/bank_profiles/``;
   the older ``<workbook 所在文件夹>/bank_profiles/`` still counts) — a center's
   edited copy wins over the packaged one;
2. inside the package, ``xlwings_addin/data/<kind>`` (what a wheel installs:
   ``setup.py`` copies the repository's ``letters/`` and ``workbooks/`` there at
   build time);
3. the repository checkout (``<repo>/<kind>``, ``<repo>/workbooks/<kind>``) —
   an editable install.

``feebook templates --out DIR`` copies the packaged files out for editing
(:func:`copy_packaged`).  Imports nothing of the package.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent

CENTER_DIR = "模板"          # the center's own templates, beside its workbook
KINDS = {"letters": "*.docx", "bank_profiles": "*.json", "statement_profiles": "*.json", "workbooks": "*.xlsx"}
# where each kind goes inside a center folder (relative to 模板/)
CENTER_SUBDIR = {"letters": ".", "bank_profiles": "bank_profiles", "statement_profiles": "statement_profiles",
                 "workbooks": "."}
WORKBOOK_TEMPLATE = "收费大表.xlsx"


def center_dirs(kind: str, workbook: Optional[Path] = None) -> list[Path]:
    """The center's own folders for one kind (empty without a workbook)."""
    if workbook is None:
        return []
    home = Path(workbook).resolve().parent
    dirs = [(home / CENTER_DIR / CENTER_SUBDIR.get(kind, kind)).resolve()]
    if kind in ("bank_profiles", "statement_profiles"):  # also a profile folder right beside the workbook
        dirs.append(home / kind)
    return dirs


def packaged_dirs(kind: str) -> list[Path]:
    """The shipped folders for one kind: inside the package, then the checkout's."""
    return [PACKAGE_DIR / "data" / kind, REPO_DIR / kind, REPO_DIR / "workbooks" / kind]


def resource_dirs(kind: str, workbook: Optional[Path] = None) -> list[Path]:
    """Candidate folders for one kind of shipped file, most specific first."""
    return center_dirs(kind, workbook) + packaged_dirs(kind)


def find_resource(kind: str, name: str, workbook: Optional[Path] = None) -> Optional[Path]:
    """The first ``name`` among :func:`resource_dirs`; None when nowhere."""
    for folder in resource_dirs(kind, workbook):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def packaged_files(kind: str) -> dict[str, Path]:
    """File name → shipped file, for every file of one kind (package first, then checkout)."""
    found: dict[str, Path] = {}
    for folder in packaged_dirs(kind):
        if folder.is_dir():
            for path in sorted(folder.glob(KINDS[kind])):
                found.setdefault(path.name, path)
    return found


def copy_packaged(dest: Path, overwrite: bool = False) -> tuple[list[Path], list[Path]]:
    """Copy every shipped template/profile into ``dest`` laid out as a center folder.

    Returns (copied, kept): files already in ``dest`` are kept unless ``overwrite``.
    """
    dest = Path(dest)
    copied: list[Path] = []
    kept: list[Path] = []
    for kind in KINDS:
        folder = (dest / CENTER_SUBDIR[kind]).resolve()
        for name, source in packaged_files(kind).items():
            target = folder / name
            if target.exists() and not overwrite:
                kept.append(target)
                continue
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied.append(target)
    return copied, kept
