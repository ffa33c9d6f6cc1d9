"""The Python runtime: stdlib-only code that runs inside every python3.X interpreter.

Nothing in this package may import `nimbus` or use syntax newer than Python 3.9,
because it is executed by the function's own interpreter, not the platform's.
"""
