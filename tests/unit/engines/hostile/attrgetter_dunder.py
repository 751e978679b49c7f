# VT201: tries operator.attrgetter to look a dunder attribute up by string.
from operator import attrgetter

get_class = attrgetter("__cl" + "ass__")
