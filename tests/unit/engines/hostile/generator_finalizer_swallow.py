# VT205: tries to trip the budget inside a generator finalizer (exceptions there are swallowed), then loop.
def gen():
    try:
        yield 1
    finally:
        while True:
            pass


it = gen()
next(it)
del it
while True:
    pass
