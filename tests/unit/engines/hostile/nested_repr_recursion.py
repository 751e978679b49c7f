# VT205: tries to overflow the C stack with repr() of a deeply nested list.
x = []
for _ in range(100_000):
    x = [x]
TEXT = repr(x)
