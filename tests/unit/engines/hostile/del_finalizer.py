# VT202: tries to run code at garbage-collection time through __del__, outside any budget.
class Leaky:
    def __del__(self):
        while True:
            pass
