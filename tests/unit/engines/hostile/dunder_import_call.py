# VT202: tries to call __import__ directly to bypass the import statement check.
os = __import__("os")
