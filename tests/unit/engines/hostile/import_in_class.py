# VT201: tries to hide an import inside a class body.
class Strategy:
    import subprocess

    def on_bar(self, ctx, bar):
        return None
