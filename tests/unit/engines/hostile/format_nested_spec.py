# VT207: tries to hide the traversal in a nested format spec field.
LEAK = "{0:{1.__class__}}".format(1, 2)
