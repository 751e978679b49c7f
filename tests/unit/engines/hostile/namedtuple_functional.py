# VT210: tries functional NamedTuple, whose field types are strings typing evaluates later.
from typing import NamedTuple

Row = NamedTuple("Row", [("x", "int")])
