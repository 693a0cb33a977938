"""Pure rules: billing, allocation, late fees, aging, collection rates, KPIs,
commission, dunning and the holiday calendar.  No files, no clock (``as_of`` is passed in).

Imports ledger only.
"""
