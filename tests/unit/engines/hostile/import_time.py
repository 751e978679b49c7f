# VT201: tries to read the wall clock, which would make replays differ from run to run.
import time

STARTED = time.time()
