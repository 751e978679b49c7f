# VT205: tries unbounded recursion at load time.
def down(n):
    return down(n + 1)


down(0)
