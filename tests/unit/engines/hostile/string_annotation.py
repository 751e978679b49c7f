# VT203: tries a string annotation that typing or msgspec would evaluate later, outside the check.
class Params:
    x: "().__class__.__bases__[0].__subclasses__()" = 1
