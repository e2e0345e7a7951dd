"""A small web back-end serving one page: a SIRET in, the DC1 or DC2 pre-filled.

``python -m examples.web`` from the repository root serves it on http://127.0.0.1:8000.
"""
