"""``feebook`` — the command line over the same engine as the Excel add-in.

Core commands live here (check, bill, run, demo); feature commands (letters,
dunning, bank, commission…) are modules in ``xlwings_addin/faces/commands/`` that
define ``register(subparsers)``.  Exit codes: 0 success, 1 when 问题 has
errors (or the write was refused), 2 for a usage error or a file that is not
a readable workbook.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import difflib
import importlib
import pkgutil
import sys
from pathlib import Path

from . import commands as _commands_pkg
from .gcpause import paused_gc
from ..jobs.ledger import Changes, apply_to_file, job_bill, job_check, job_run, load
from ..ledger.periods import Period, PeriodError, parse_date
from ..ledger.schema import PROBLEMS as PROBLEMS_SHEET
from ..workbook.reader import WorkbookError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A mistake in the command line; the message is Chinese."""


# argparse's own words, translated the way argparse allows: it looks every message up through gettext's
# ``_`` / ``ngettext`` names in its module, which :func:`chinese_argparse` points at this table while
# our parser is built, parses or prints.
ARGPARSE_ZH = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "optional arguments": "选项",
    "show this help message and exit": "显示本帮助并退出",
    "show program's version number and exit": "显示版本号并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "the following arguments are required: %s": "缺少必填参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选择：%(value)r（可选：%(choices)s）",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "expected one argument": "需要一个值",
    "expected at least one argument": "至少需要一个值",
    "expected at most one argument": "最多一个值",
    "invalid %(type)s value: %(value)r": "无效的 %(type)s 值：%(value)r",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 有歧义，可能是：%(matches)s",
    "ignored explicit argument %r": "忽略了多余的值 %r",
    "one of the arguments %s is required": "参数 %s 必须给出其中一个",
    "unexpected option string: %s": "意外的选项：%s",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "未知的命令 %(parser_name)r（可选：%(choices)s）",
    "expected %s argument": "需要 %s 个值",
    "expected %s arguments": "需要 %s 个值",
}


def _zh(message: str) -> str:
    return ARGPARSE_ZH.get(message, message)


def _zh_n(singular: str, plural: str, n: int) -> str:
    return _zh(singular if n == 1 else plural)


@contextlib.contextmanager
def chinese_argparse():
    """argparse speaks Chinese inside this block (its gettext names point at :data:`ARGPARSE_ZH`)."""
    saved = argparse._, argparse.ngettext
    argparse._, argparse.ngettext = _zh, _zh_n
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved


class ChineseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose own words are Chinese; subcommand parsers are of the same class."""

    def __init__(self, *args, **kwargs):
        with chinese_argparse():
            super().__init__(*args, **kwargs)

    def add_argument_group(self, *args, **kwargs):
        with chinese_argparse():
            return super().add_argument_group(*args, **kwargs)

    def parse_args(self, *args, **kwargs):
        with chinese_argparse():
            return super().parse_args(*args, **kwargs)

    def parse_known_args(self, *args, **kwargs):
        with chinese_argparse():
            return super().parse_known_args(*args, **kwargs)

    def format_usage(self):
        with chinese_argparse():
            return super().format_usage()

    def format_help(self):
        with chinese_argparse():
            return super().format_help()

    def error(self, message):
        with chinese_argparse():
            super().error(message)

    def _check_value(self, action, value):
        """An invalid choice also says which one was probably meant: chek → check？"""
        if action.choices is not None and value not in action.choices:
            # two-character words (现今 → 现金) share half their letters at best: a lower bar for them
            cutoff = 0.5 if len(str(value)) <= 2 else 0.6
            near = difflib.get_close_matches(str(value), [str(c) for c in action.choices], n=1, cutoff=cutoff)
            message = _zh("invalid choice: %(value)r (choose from %(choices)s)") % {
                "value": value, "choices": "、".join(map(str, action.choices))}
            if near:
                message += f"；是否为 {near[0]}？"
            raise argparse.ArgumentError(action, message)


def as_of_arg(text: str) -> dt.date:
    try:
        return parse_date(text)
    except PeriodError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def period_arg(text: str) -> Period:
    try:
        return Period.parse(text)
    except PeriodError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def today() -> dt.date:
    """The only place the command line reads the clock (default for --as-of)."""
    return dt.date.today()


def add_as_of(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=as_of_arg, default=None, help="截至日期 YYYY-MM-DD（默认今天）")


def report(changes: Changes, out=None) -> int:
    """Print the summary and the problems; return the exit code."""
    out = out or sys.stdout
    for line in changes.summary:
        print(line, file=out)
    errors = changes.errors
    warnings = [p for p in changes.problems if p not in errors]
    if changes.problems:
        # only a run that writes the 问题 sheet may send the clerk there (check, a refused receive and a
        # blocked command leave the workbook untouched: the 问题 sheet still holds an older run's rows)
        where = "（详见“问题”工作表）" if PROBLEMS_SHEET in changes.replace else ""
        print(f"问题：{len(errors)} 个错误，{len(warnings)} 个警告{where}", file=out)
        for p in errors[:20]:
            print(f"  [{p.level}] {p.sheet}!{p.cell} {p.message}", file=out)
        if len(errors) > 20:
            print(f"  …… 另有 {len(errors) - 20} 个错误", file=out)
    return EXIT_PROBLEMS if errors else EXIT_OK


def unreadable(book, action: str):
    """Changes that only report, when the workbook cannot be fully read (no documents, no figures)."""
    from ..jobs.ledger import WITHHELD_NOTE, blocking_problems

    if not blocking_problems(book.ledger.problems):
        return None
    changes = Changes(action, problems=list(book.ledger.problems))
    changes.summary.append(WITHHELD_NOTE.replace("本次未更新任何结果表，只写入了“问题”和“操作日志”", "本次未生成任何文件"))
    return changes


def write_and_report(book, changes: Changes) -> int:
    if changes.writes:
        apply_to_file(book, changes)
        print(f"已写入：{book.path}")
    return report(changes)


def cmd_check(args) -> int:
    book = load(args.workbook)
    return report(job_check(book.ledger, args.as_of or today()))


def cmd_bill(args) -> int:
    book = load(args.workbook)
    return write_and_report(book, job_bill(book.ledger, args.period, today()))


def cmd_run(args) -> int:
    book = load(args.workbook)
    return write_and_report(book, job_run(book.ledger, args.as_of or today()))


def cmd_demo(args) -> int:
    from ..demo import run_demo

    return run_demo(Path(args.out), as_of=args.as_of or dt.date(2026, 11, 22), units=args.units)


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseArgumentParser(prog="feebook", description="收费大表：计费、冲抵、违约金、收缴率与催收")
    sub = parser.add_subparsers(dest="command", metavar="命令")
    sub.required = True

    p = sub.add_parser("check", help="校验工作簿（只读，不写入）")
    p.add_argument("workbook")
    add_as_of(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("bill", help="计费：把一个期间的应收写入“应收”表（重复运行不会重复计费）")
    p.add_argument("workbook")
    p.add_argument("--period", type=period_arg, required=True, help="期间，如 2026Q1 或 2026-01")
    p.set_defaults(func=cmd_bill)

    p = sub.add_parser("run", help="冲抵收款、计算违约金，写入 欠费明细、收缴率、问题")
    p.add_argument("workbook")
    add_as_of(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="生成示例小区工作簿并跑一遍完整流程")
    p.add_argument("--out", default="demo-output", help="输出目录（默认 demo-output）")
    p.add_argument("--units", type=int, default=300, help="房屋数量（默认约300户）")
    add_as_of(p)
    p.set_defaults(func=cmd_demo)

    for info in pkgutil.iter_modules(_commands_pkg.__path__):
        module = importlib.import_module(f"{_commands_pkg.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser



def main(argv=None) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(encoding="utf-8")
        except (AttributeError, ValueError):
            pass
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        with paused_gc():
            return args.func(args)
    except UsageError as exc:
        print(f"用法错误：{exc}", file=sys.stderr)
        return EXIT_USAGE
    except WorkbookError as exc:
        print(f"无法处理：{exc}", file=sys.stderr)
        return EXIT_USAGE if not getattr(exc, "retryable", False) else EXIT_PROBLEMS
    except KeyboardInterrupt:
        print("已中断，工作簿未改动。", file=sys.stderr)
        return EXIT_PROBLEMS
    except Exception:  # a bug: the user gets a short message, the details go to a log file
        log = _log_internal_error()
        print(f"程序内部错误，请把日志 {log} 发给技术支持。工作簿要么保持原样，要么已完整写入，不会损坏。",
              file=sys.stderr)
        return EXIT_PROBLEMS


def _log_internal_error() -> Path:
    import tempfile
    import traceback

    folder = Path(tempfile.gettempdir()) / "feebook-logs"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"error-{dt.datetime.now():%Y%m%d-%H%M%S}.log"
    log.write_text(traceback.format_exc(), encoding="utf-8")
    return log


if __name__ == "__main__":
    sys.exit(main())
