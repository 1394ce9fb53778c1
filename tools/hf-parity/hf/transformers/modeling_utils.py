# SHIM for transformers.modeling_utils.PreTrainedModel: an nn.Module with HF's init/tie logic and the
# attention-mask helpers that BertModel.forward calls (as in HF v4.x ModuleUtilsMixin).
import torch
from torch import nn

from .pytorch_utils import apply_chunking_to_forward, find_pruneable_heads_and_indices, prune_linear_layer  # noqa: F401


class PreTrainedModel(nn.Module):
    config_class = None
    base_model_prefix = ""
    _keys_to_ignore_on_load_missing = None
    _keys_to_ignore_on_load_unexpected = None
    supports_gradient_checkpointing = False

    def __init__(self, config, *inputs, **kwargs):
        super().__init__()
        self.config = config

    # --- init / tying (HF: init_weights = apply(_init_weights) + tie_weights; post_init calls init_weights) ---
    def _init_weights(self, module):
        pass

    def init_weights(self):
        self.apply(self._init_weights)
        self.tie_weights()

    def post_init(self):
        self.init_weights()

    @property
    def base_model(self):
        return getattr(self, self.base_model_prefix, self)

    def get_input_embeddings(self):
        base_model = getattr(self, self.base_model_prefix, self)
        if base_model is not self:
            return base_model.get_input_embeddings()
        raise NotImplementedError

    def get_output_embeddings(self):
        return None

    def tie_weights(self):
        if getattr(self.config, "tie_word_embeddings", True):
            output_embeddings = self.get_output_embeddings()
            if output_embeddings is not None:
                self._tie_or_clone_weights(output_embeddings, self.get_input_embeddings())
        for module in self.modules():
            if hasattr(module, "_tie_weights"):
                module._tie_weights()

    def _tie_or_clone_weights(self, output_embeddings, input_embeddings):
        output_embeddings.weight = input_embeddings.weight
        if getattr(output_embeddings, "bias", None) is not None:
            output_embeddings.bias.data = nn.functional.pad(
                output_embeddings.bias.data,
                (0, output_embeddings.weight.shape[0] - output_embeddings.bias.shape[0]),
                "constant",
                0,
            )
        if hasattr(output_embeddings, "out_features") and hasattr(input_embeddings, "num_embeddings"):
            output_embeddings.out_features = input_embeddings.num_embeddings

    # --- ModuleUtilsMixin parts ---
    @property
    def dtype(self):
        return next(self.parameters()).dtype

    def get_extended_attention_mask(self, attention_mask, input_shape, device=None):
        # HF v4.x (encoder case). v4.9-era code multiplies by -10000.0; HF >= 4.21 uses torch.finfo(dtype).min.
        if attention_mask.dim() == 3:
            extended_attention_mask = attention_mask[:, None, :, :]
        elif attention_mask.dim() == 2:
            if self.config.is_decoder:
                raise NotImplementedError("decoder masks are not part of this check")
            extended_attention_mask = attention_mask[:, None, None, :]
        else:
            raise ValueError(f"Wrong shape for input_ids (shape {input_shape}) or attention_mask (shape {attention_mask.shape})")
        extended_attention_mask = extended_attention_mask.to(dtype=self.dtype)  # fp16 compatibility
        extended_attention_mask = (1.0 - extended_attention_mask) * MASK_FILL
        return extended_attention_mask

    def invert_attention_mask(self, encoder_attention_mask):
        raise NotImplementedError

    def get_head_mask(self, head_mask, num_hidden_layers, is_attention_chunked=False):
        if head_mask is not None:
            raise NotImplementedError("head masks are not part of this check")
        return [None] * num_hidden_layers


MASK_FILL = -10000.0  # the check script may set this to torch.finfo(torch.float32).min to mimic HF >= 4.21
