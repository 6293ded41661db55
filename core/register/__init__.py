"""The seal register (DOMAIN.md section 8): the append-only hash-chained store, the community's
people and roles, ID numbers, the seal workflow (who may approve, stamp, file, void) and the
inspector's audit.

Layer 2: imports ``common`` and ``engine``; never papers, training, kit, desk, cli or the TUI.
"""
