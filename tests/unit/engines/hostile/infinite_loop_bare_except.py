# VT205: tries to swallow the budget exception with a bare except and keep looping.
n = 0
while True:
    try:
        while True:
            n += 1
    except:
        pass
