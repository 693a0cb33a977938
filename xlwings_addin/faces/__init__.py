"""The ways in: the ``feebook`` command line and its commands, the ribbon macros,
the worksheet functions (UDFs), the scheduler and the Excel add-in file (addin/).

Imports jobs (and whatever they need); nothing imports faces except demo and __main__.
"""
