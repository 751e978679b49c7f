# VT201: tries functools.update_wrapper to copy a stdlib function's __globals__ into a dict it owns.
from dataclasses import fields
from functools import update_wrapper


class Box:
    pass


box = Box()
update_wrapper(box, fields, assigned=["__glob" + "als__"], updated=[])
