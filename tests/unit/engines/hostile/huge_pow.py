# VT208: tries to hang the loader in C with a huge constant power (no trace events while it runs).
BIG = 10 ** 10 ** 10
