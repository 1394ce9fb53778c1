# SHIM for transformers.utils: logging, is_scipy_available and no-op docstring decorators
import importlib.util

from . import logging


def is_scipy_available():
    return importlib.util.find_spec("scipy") is not None


def _passthrough_decorator(*args, **kwargs):
    def deco(fn):
        return fn

    return deco


add_code_sample_docstrings = _passthrough_decorator
add_start_docstrings = _passthrough_decorator
add_start_docstrings_to_model_forward = _passthrough_decorator
replace_return_docstrings = _passthrough_decorator
