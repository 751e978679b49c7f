# VT202: tries to print instead of logging through ctx.log (output would not be journalled).
print("strategy loaded")
