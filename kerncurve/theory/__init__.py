"""Pure theory: numpy in, numpy out; no I/O, no printing."""
