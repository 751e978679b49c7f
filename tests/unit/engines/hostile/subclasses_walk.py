# VT203: tries the classic object-subclasses walk to find a class that can import os.
for cls in ().__class__.__bases__[0].__subclasses__():
    if cls.__name__ == "catch_warnings":
        os = cls()._module.__builtins__["__import__"]("os")
