# VT202: tries to read the restricted __builtins__ dict and pull out something it should not have.
real_open = __builtins__["open"]
