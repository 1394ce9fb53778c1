# SHIM for transformers.utils.logging
import logging as _logging


def get_logger(name=None):
    return _logging.getLogger(name)


def warning(*args, **kwargs):
    _logging.warning(*args, **kwargs)
