"""Command: ``feebook templates [--out DIR]`` — copy the packaged templates out for a center to edit.

The Word templates (催费通知单、收据、催收总结报告…), the bank profiles
(``bank_profiles/*.json``) and the empty workbook (收费大表.xlsx) go into
``DIR`` (default ``./模板``).  Put that folder beside the center's workbook and
every command uses the edited copies in preference to the packaged ones.
"""
from __future__ import annotations

from pathlib import Path


def cmd_templates(args) -> int:
    from ...resources import CENTER_DIR, copy_packaged

    dest = Path(args.out or CENTER_DIR)
    copied, kept = copy_packaged(dest, overwrite=args.force)
    for path in copied:
        print(f"已复制：{path}")
    for path in kept:
        print(f"已存在，未覆盖：{path}（要覆盖请加 --force）")
    if not copied and not kept:
        print("找不到随程序安装的模板；请重新安装 feebook。")
        return 1
    print(f"共复制 {len(copied)} 个文件到 {dest.resolve()}。"
          f"把这个文件夹命名为“{CENTER_DIR}”并放在收费大表旁边，修改后的模板与银行方案即优先使用。")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("templates", help="把随程序安装的文书模板、银行方案、空白收费大表复制出来以便修改")
    p.add_argument("--out", default=None, help="目标文件夹（默认当前目录下的“模板”）")
    p.add_argument("--force", action="store_true", help="覆盖目标文件夹里已有的同名文件")
    p.set_defaults(func=cmd_templates)
