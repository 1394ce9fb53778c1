# SHIM: configuration_bert.py imports OnnxConfig; only subclassed, never used here.
class OnnxConfig:
    pass
