# VT201: tries to hide an import inside a hook so it only runs after loading.
def on_bar(ctx, bar):
    import os

    return os.getcwd()
