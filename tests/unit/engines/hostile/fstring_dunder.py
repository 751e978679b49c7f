# VT203: tries to hide a dunder attribute inside an f-string replacement field.
LEAK = f"{().__class__.__base__}"
