"""For trainers: scenario files, the quiz and the side-by-side comparison of jurisdictions.

Layer 3: imports ``common`` and ``engine`` (and ``register`` for demo communities).
"""
