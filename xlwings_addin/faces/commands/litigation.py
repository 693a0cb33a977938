"""``feebook litigation``: the yearly litigation batch (要素式起诉状, 计算表, 证据目录, 诉讼清单).

    feebook litigation 收费大表.xlsx --as-of 2026-11-22 --out 诉讼材料 [--units 3-2-1501,3-2-1502]
                       [--operator 客户关系部] [--no-record]

Every unit at stage 诉讼 (a delivered 律师函 whose deadline has passed, overdue
principal ≥ 诉讼欠费金额, no hold, 诉讼时效 not run out) gets a folder; units
left out are listed with the reason.  The terminal shows 房号 and masked names only.
"""
from __future__ import annotations

from pathlib import Path

from ...documents.letters import TemplateRefused
from ...jobs.ledger import apply_to_file, load
from ...jobs.litigation import job_litigation


def _rooms_arg(text: str) -> list[str]:
    return [r.strip() for r in text.replace("，", ",").split(",") if r.strip()]


def cmd_litigation(args) -> int:
    from ..cli import report, today

    book = load(args.workbook)
    as_of = args.as_of or today()
    rooms = _rooms_arg(args.units) if args.units else None
    try:
        changes, _result = job_litigation(book.ledger, as_of, Path(args.out), rooms=rooms, operator=args.operator,
                                          record=not args.no_record)
    except TemplateRefused as exc:
        print(f"模板被拒绝：{exc}")
        return 1
    if changes.writes:
        apply_to_file(book, changes)
        print(f"已写入：{book.path}")
    return report(changes)


def register(subparsers) -> None:
    from ..cli import add_as_of

    p = subparsers.add_parser("litigation", help="生成集中诉讼材料：要素式起诉状、计算表、证据目录、诉讼清单")
    p.add_argument("workbook")
    p.add_argument("--out", required=True, help="输出目录（每户一个子目录）")
    p.add_argument("--units", default=None, help="只处理这些房号（逗号分隔）；未列入的说明原因")
    p.add_argument("--operator", default="客户关系部", help="催缴记录的经办人（默认 客户关系部）")
    p.add_argument("--no-record", action="store_true", help="不写入催缴记录（仅预览）")
    add_as_of(p)
    p.set_defaults(func=cmd_litigation)
