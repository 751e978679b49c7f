# VT202: tries to bind __builtins__ through a match capture so later lookups use it.
match {"open": 1}:
    case {**__builtins__}:
        pass
