# VT201: tries to poke process memory through ctypes.
import ctypes

libc = ctypes.CDLL(None)
