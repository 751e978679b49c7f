# VT204: a hook with a missing colon, so the file does not parse.
def on_bar(ctx, bar)
    return None
