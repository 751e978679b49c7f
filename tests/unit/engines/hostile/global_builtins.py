# VT202: tries to replace __builtins__ through a global statement inside a function.
def hijack():
    global __builtins__
    __builtins__ = {}


hijack()
