"""``python -m kerncurve``."""

from .cli import main

main()
