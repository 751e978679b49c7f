# VT207: tries the str.format attribute-traversal escape on a template held in a variable.
template = "{0.gi_frame.f_back.f_globals}"


def gen():
    yield 1


LEAK = template.format(gen())
