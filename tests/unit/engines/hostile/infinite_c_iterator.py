# VT205: tries an endless iterator drained by a generator expression inside C code (sum).
TOTAL = sum(1 for _ in iter(int, 1))
