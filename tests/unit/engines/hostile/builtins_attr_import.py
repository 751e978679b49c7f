# VT202: tries to reach __import__ as an attribute of __builtins__.
os = __builtins__.__import__("os")
