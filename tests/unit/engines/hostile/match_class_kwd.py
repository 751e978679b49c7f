# VT203: tries a class pattern with a dunder keyword, which makes match call getattr for it.
match ():
    case object(__class__=cls):
        BASES = cls
