# VT203: tries to climb from a generator frame to the loader's globals.
def gen():
    yield 1


it = gen()
LOADER_GLOBALS = it.gi_frame.f_back.f_globals
