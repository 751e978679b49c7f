# VT205: tries to swallow the budget exception with finally/continue and keep looping.
while True:
    try:
        while True:
            pass
    finally:
        continue
