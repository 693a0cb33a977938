"""The file and the live book: reader (python-calamine), parse (→ records + 问题),
the parse cache, the writer (package rewrite, sheet XML, styles, append, locks and
backups), the live Excel book and the empty template.

Imports ledger only.
"""
