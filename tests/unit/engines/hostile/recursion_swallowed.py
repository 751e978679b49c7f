# VT205: tries to swallow the depth limit with a bare except and recurse again, exponentially.
def down():
    try:
        down()
    except:
        down()


down()
