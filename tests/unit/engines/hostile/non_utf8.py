# VT204: a Latin-1 encoded file (not UTF-8): the loader must refuse it with the line.
NAME = "café"
