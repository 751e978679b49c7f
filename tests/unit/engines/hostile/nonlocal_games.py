# VT202: tries to smuggle a name called eval through nonlocal so a closure can rebind it.
def outer():
    eval = None

    def inner():
        nonlocal eval
        eval = len

    inner()
    return eval


outer()
