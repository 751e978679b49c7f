# VT203: tries to climb from an exception's traceback to a frame and its globals.
try:
    1 / 0
except ZeroDivisionError as exc:
    FRAME = exc.__traceback__.tb_frame
