# VT204: parses but does not compile (return outside a function).
return 42
