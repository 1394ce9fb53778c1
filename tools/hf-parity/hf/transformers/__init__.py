# SHIM package standing in for HF transformers: only what modeling_bert.py / modeling_fnet.py import.
# The modelling files under models/ are HF's source (see SOURCE lines in each).
from .configuration_utils import PretrainedConfig  # noqa: F401
from .modeling_utils import PreTrainedModel  # noqa: F401
