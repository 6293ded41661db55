"""For plugin developers: ``plugin new`` (``scaffold``), the conformance suite that
``plugin check`` runs (``conformance``) and the reference tables of docs/plugins.md
(``reference``, generated from the code so the guide cannot drift from it).

Layer 4: imports ``common``, ``engine`` and ``training`` (a plugin's scenarios are checked
with the trainers' scenario reader).
"""
