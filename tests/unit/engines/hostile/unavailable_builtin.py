# VT202: tries a builtin that is not on the allow-list (OSError hints at I/O).
try:
    pass
except OSError:
    pass
