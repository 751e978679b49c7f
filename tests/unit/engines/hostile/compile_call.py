# VT202: tries to build a code object with compile.
CODE = compile("1 + 1", "<payload>", "eval")
