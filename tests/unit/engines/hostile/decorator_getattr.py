# VT202: tries a decorator that reaches a function's globals through getattr.
def leak(fn):
    return getattr(fn, "__glob" + "als__")


@leak
def hook():
    return None
