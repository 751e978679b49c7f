# VT208: tries to exhaust memory with a huge string repetition.
PAD = "a" * 10**12
