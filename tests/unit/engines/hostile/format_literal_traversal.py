# VT207: tries attribute traversal in a literal .format template.
LEAK = "{0.__class__.__mro__}".format(1)
