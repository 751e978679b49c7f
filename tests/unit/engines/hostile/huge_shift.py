# VT208: tries to build a gigantic integer with a left shift.
MASK = (1 << 10**10) - 1
