"""For plugin developers: ``plugin new`` (``scaffold``) and the conformance suite that
``plugin check`` runs (``conformance``).

Layer 3: imports ``common`` and ``engine``.
"""
