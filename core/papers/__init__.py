"""Papers and reports (DOMAIN.md section 9): what each paper says (``content``, templates in
``sealdesk.templates``), reports from the register, layout on A4 (``typeset``, ``pdf``), the
font chain and per-paper fonts (``fonts``, ``glyphs``, ``fontfile``), and delivery to the clerk.

Layer 3: imports ``common``, ``engine`` and ``register``.
"""
