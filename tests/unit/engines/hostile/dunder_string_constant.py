# VT209: tries to keep an interpreter-internal name as data, to probe or look attributes up by string.
PROBE = hasattr(len, "__self__")
