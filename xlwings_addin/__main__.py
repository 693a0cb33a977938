"""``python -m xlwings_addin`` runs the ``feebook`` command line."""
import sys

from .faces.cli import main

sys.exit(main())
