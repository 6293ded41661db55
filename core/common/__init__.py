"""Helpers every layer may use: text cut to terminal cells, plugin data files with file:line
errors, errors and argument parsing shared by the CLI and the register service, per-user paths.

Layer 0: imports nothing else from sealdesk.
"""
