# VT205: tries to hang the loader while it formats the error message of an exception.
class Boom(Exception):
    def __str__(self):
        while True:
            pass


raise Boom()
