"""Run the seed-004 calendar unattended: ``python scripts/scheduler.py 收费大表.xlsx [--once --as-of DATE] [--out DIR]``.

Same as ``feebook schedule …``.  For Windows Task Scheduler / cron, run it once a
day with ``--once`` (no long-running process); without ``--once`` it keeps
running and checks the calendar itself (Ctrl+C to stop).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xlwings_addin.faces.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["schedule", *sys.argv[1:]]))
