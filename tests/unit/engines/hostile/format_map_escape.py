# VT207: tries attribute traversal through format_map, where the template walks the argument.
class Holder:
    secret = "s3cr3t"


LEAK = "{h.secret}".format_map({"h": Holder()})
