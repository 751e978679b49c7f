# VT202: tries to reach __class__ through getattr with a string, hiding it from the attribute check.
name = "__cl" + "ass__"
cls = getattr((), name)
