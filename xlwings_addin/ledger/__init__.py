"""The vocabulary every room shares: the workbook contract (schema), the records a
parsed workbook becomes, money and periods.

Imports nothing else of the package.
"""
