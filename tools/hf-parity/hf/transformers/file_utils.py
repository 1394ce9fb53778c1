# SHIM for transformers.file_utils (older HF layout, used by modeling_bert.py at 004ad5f)
from .utils import (  # noqa: F401
    add_code_sample_docstrings,
    add_start_docstrings,
    add_start_docstrings_to_model_forward,
    replace_return_docstrings,
)
from .modeling_outputs import ModelOutput  # noqa: F401
