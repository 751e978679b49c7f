# VT202: tries type() with three arguments to build a class from strings of dunder names.
Evil = type("Evil", (Exception,), {"__match_args__": ("__traceback__",)})
