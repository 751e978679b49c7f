# VT201: tries to import os dynamically through importlib.
import importlib

os = importlib.import_module("os")
