# VT203: tries a string type alias that an annotation names, so typing evaluates it later.
Alias = "(lambda: 0).__globals__"


class Params:
    x: Alias = 1
