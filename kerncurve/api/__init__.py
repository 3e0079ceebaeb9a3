"""One module per command: each composes spectrum, theory and simulation into a `Result`.

The functions are re-exported at the top level (``kerncurve.predict``…); their keyword
arguments are the command's options in Python spelling.
"""
