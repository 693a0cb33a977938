"""Feature commands of ``feebook``: each module defines ``register(subparsers)``.

Every command is thin: parse arguments → :mod:`xlwings_addin.jobs.ledger` or an engine
function → write → print a summary.  Return an exit code (0/1/2).
"""
