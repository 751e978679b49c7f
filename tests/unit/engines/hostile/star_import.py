# VT201: tries a star import so the names it brings in are invisible to the check.
from operator import *

get = attrgetter("__class__")
