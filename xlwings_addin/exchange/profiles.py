"""Profiles are data: a JSON file per bank or channel, found by name in a list of folders."""
from __future__ import annotations

import json
from pathlib import Path


def read_profile(name: str, dirs: list[Path], what: str, error: type[Exception]) -> tuple[dict, str]:
    """``name`` (a file stem such as ``csv_gbk``, or a path to a .json file) → (its data, its stem).

    ``what`` names the kind in messages (银行方案, 对账单方案); ``error`` is raised, in Chinese, for a
    file that cannot be read or a name found nowhere (listing the names that are there).
    """
    candidate = Path(name)
    paths = [candidate] if candidate.suffix.lower() == ".json" else [d / f"{name}.json" for d in dirs]
    for path in paths:
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8")), path.stem
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise error(f"{what}文件“{path}”无法读取：{exc}") from None
    known = sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.json")})
    raise error(f"找不到{what}“{name}”；可用：{'、'.join(known) or '（无）'}")
