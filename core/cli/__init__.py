"""The ``sealdesk`` command. ``main`` builds the parser; each command group's module
(``register``, ``papers``, ``plugin``, ``scenario``, ``compare``) is imported only when one of
its commands runs, so a one-shot ``sealdesk decide`` loads the engine and nothing else.

Layer 5: may import any layer of core; the TUI (``sealdesk.tui``) sits above it.
"""
