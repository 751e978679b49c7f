# VT203: tries the same with postponed annotations: the annotation names a variable holding a string.
from __future__ import annotations

from typing import List

S = "().__cl" + "ass__"


class Params:
    x: List[S] = []
