# VT204: declares a non-UTF-8 source encoding.
# -*- coding: latin-1 -*-
NAME = "cafe"
