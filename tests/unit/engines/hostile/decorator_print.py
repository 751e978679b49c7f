# VT202: tries to use a forbidden builtin as a decorator.
@print
def hook():
    return None
