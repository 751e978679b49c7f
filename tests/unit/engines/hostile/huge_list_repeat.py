# VT208: tries to exhaust memory with a huge list repetition.
BUFFER = [0.0] * (10**6 * 10**4)
