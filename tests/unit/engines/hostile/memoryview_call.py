# VT202: tries to get a raw memory view.
VIEW = memoryview(b"abc")
