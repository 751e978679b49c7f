# VT210: tries the functional Enum API to build a class with a computed __annotations__ attribute.
from enum import Enum

names = [("__annot" + "ations__", {"x=0\n__import__('os')#": int})]
Evil = Enum("Evil", names)
