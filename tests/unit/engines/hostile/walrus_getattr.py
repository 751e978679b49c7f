# VT202: tries to bind getattr to another name with the walrus operator.
if (g := getattr) is not None:
    CLS = g((), "mro")
