# VT203: tries to read a function's __globals__ to find the real builtins.
f = lambda: 0
G = f.__globals__
