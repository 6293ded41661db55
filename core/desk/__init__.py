"""The counter: request → decision → register entry → paper (``counter.Desk``), used by the CLI,
the TUI and the register service (``service``: a Unix-socket server that owns the register).

Layer 4: imports every layer below (engine, register, papers); never cli or the TUI.
"""
