# VT203: tries a computed string inside an annotation, which typing/msgspec would eval later.
from typing import List

S = "().__cla" + "ss__"


class Params:
    x: List[S] = []
