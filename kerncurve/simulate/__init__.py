"""Brute-force experiments that check the theory on the same data.

One module per theory module (a package rather than one ``simulate.py`` so that each
theory's simulator stays small and independent).
"""
