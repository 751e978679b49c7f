# VT205: tries to hang the loader with an infinite loop on one line (no trace line events).
while True: pass
