"""收费大表 — the fee ledger engine behind the 「收费管理」 Excel add-in and the ``feebook`` command."""

__version__ = "0.1.0"
