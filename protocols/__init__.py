"""Sans-IO protocol machines: bytes and events in; bytes, events and actions out.

Nothing in this package performs I/O, reads a clock or imports an async library.
"""
