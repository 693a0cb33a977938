"""Read → engine → Changes: one module per job family (ledger: check/bill/run;
dunning; bank; receipts; daily report; dashboard).  Shared by the CLI, the
ribbon macros and the scheduler.

Imports ledger, engine, workbook, documents and exchange; never faces.
"""
