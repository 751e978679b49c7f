# VT202: tries to point a class's __module__ at os so typing resolves its annotations there.
class Params:
    __module__ = "os"
    x: "system" = 1
