"""``python -m kerncurve``."""

from .cli import main

if __name__ == "__main__":  # spawned worker processes (dask, multiprocessing) re-import this module
    main()
