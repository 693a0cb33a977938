"""Where the shipped files live: Word templates (``letters``), bank profiles
(``bank_profiles``) and the empty workbook template (``workbooks``).

Looked up inside the package first (``xlwings_addin/data/<kind>``, what a
wheel installs), then in the repository checkout (``<repo>/<kind>``,
``<repo>/workbooks/<kind>``).  Imports nothing of the package.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def resource_dirs(kind: str) -> list[Path]:
    """Candidate folders for one kind of shipped file, most specific first."""
    return [PACKAGE_DIR / "data" / kind, REPO_DIR / kind, REPO_DIR / "workbooks" / kind]
