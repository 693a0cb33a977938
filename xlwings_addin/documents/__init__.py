"""Word output: per-letter contexts, rendering and merging letters, the printed
receipt and the quarterly report (docxtpl templates in ``letters/``).

Imports ledger and engine (and resources for the templates).
"""
