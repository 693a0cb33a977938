"""Build step: the wheel carries the repository's letters/ and workbooks/ (issue 21).

The developers keep the Word templates in ``letters/`` and the workbook
template and bank profiles in ``workbooks/`` at the top of the repository;
``build_py`` copies them into ``xlwings_addin/data/`` inside the build tree,
so a wheel (``pip wheel``, ``python -m build``) ships them.  Nothing is
copied into the checkout itself: an editable install finds the same files
through :func:`xlwings_addin.resources.resource_dirs`, which falls back to the
repository's folders.
"""
from pathlib import Path
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent

# (source folder in the repository, glob, folder under xlwings_addin/data)
PACKAGED = [
    ("letters", "*.docx", "letters"),
    ("workbooks/bank_profiles", "*.json", "bank_profiles"),
    ("workbooks/statement_profiles", "*.json", "statement_profiles"),
    ("workbooks", "*.xlsx", "workbooks"),
]


class BuildWithData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # editable: resources.py reads the checkout's folders directly
        target_root = Path(self.build_lib) / "xlwings_addin" / "data"
        copied = 0
        for source, pattern, kind in PACKAGED:
            files = sorted((ROOT / source).glob(pattern))
            if not files:
                raise SystemExit(f"build: no {pattern} in {source}/ — the wheel would ship without them")
            (target_root / kind).mkdir(parents=True, exist_ok=True)
            for path in files:
                shutil.copyfile(path, target_root / kind / path.name)
                copied += 1
        print(f"build: copied {copied} shipped files into xlwings_addin/data/")


setup(cmdclass={"build_py": BuildWithData})
