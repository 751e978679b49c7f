# VT203: tries to reach a coroutine's frame and its builtins.
async def coro():
    return 1


c = coro()
B = c.cr_frame.f_builtins
