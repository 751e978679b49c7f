# VT208: tries the same through the pow() builtin.
BIG = pow(7, 10**9)
