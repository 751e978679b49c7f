# VT206: raises at load time; the loader must turn it into a typed error, not a traceback.
RATIO = 1 / 0
