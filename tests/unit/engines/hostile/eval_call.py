# VT202: tries to run code from a string with eval.
eval("__import__('os').system('id')")
