"""Files that cross the boundary: bank profiles and the 托收盘/回盘 formats, the
SMS export.

Imports ledger and engine (and resources for the shipped profiles).
"""
