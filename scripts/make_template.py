"""Regenerate the empty template workbooks/收费大表.xlsx from xlwings_addin/ledger/schema.py.

Usage: python scripts/make_template.py [output.xlsx]
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xlwings_addin.workbook.template import build_template  # noqa: E402


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else ROOT / "workbooks" / "收费大表.xlsx"
    build_template(target)
    print(f"已生成模板：{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
