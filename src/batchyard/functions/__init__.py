"""Lambda-compatible functions: Python handlers run in warm worker processes.

Kept free of imports: the worker bootstrap runs as ``python -m batchyard.functions.bootstrap``
and must not pay for the server's modules.
"""
