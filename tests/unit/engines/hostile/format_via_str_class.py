# VT207: tries to call str.format unbound so the template is not a literal receiver.
LEAK = str.format("{0.__class__}", 1)
