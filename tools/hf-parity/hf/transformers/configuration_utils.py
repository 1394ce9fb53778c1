# SHIM for transformers.configuration_utils.PretrainedConfig: a plain attribute holder with HF's base defaults.
# Like HF, keys it does not know are kept as attributes (HF: "Additional attributes without default values").
# It also records them in `_extra_keys` so the check can report which config.json keys HF does not consume.
import json

_BASE_DEFAULTS = dict(
    return_dict=True, output_hidden_states=False, output_attentions=False, torchscript=False, torch_dtype=None,
    use_bfloat16=False, tf_legacy_loss=False, pruned_heads={}, tie_word_embeddings=True, chunk_size_feed_forward=0,
    is_encoder_decoder=False, is_decoder=False, cross_attention_hidden_size=None, add_cross_attention=False,
    tie_encoder_decoder=False, max_length=20, min_length=0, do_sample=False, early_stopping=False, num_beams=1,
    num_beam_groups=1, diversity_penalty=0.0, temperature=1.0, top_k=50, top_p=1.0, typical_p=1.0,
    repetition_penalty=1.0, length_penalty=1.0, no_repeat_ngram_size=0, encoder_no_repeat_ngram_size=0,
    bad_words_ids=None, num_return_sequences=1, output_scores=False, return_dict_in_generate=False,
    forced_bos_token_id=None, forced_eos_token_id=None, remove_invalid_values=False,
    exponential_decay_length_penalty=None, suppress_tokens=None, begin_suppress_tokens=None, architectures=None,
    finetuning_task=None, id2label=None, label2id=None, tokenizer_class=None, prefix=None, bos_token_id=None,
    pad_token_id=None, eos_token_id=None, sep_token_id=None, decoder_start_token_id=None,
    task_specific_params=None, problem_type=None, _name_or_path="", transformers_version=None,
)


class PretrainedConfig:
    model_type = ""

    def __init__(self, **kwargs):
        for k, v in _BASE_DEFAULTS.items():
            setattr(self, k, kwargs.pop(k, v if not isinstance(v, dict) else dict(v)))
        num_labels = kwargs.pop("num_labels", 2)
        if self.id2label is None:
            self.id2label = {i: f"LABEL_{i}" for i in range(num_labels)}
        else:
            self.id2label = {int(k): v for k, v in self.id2label.items()}
        self._extra_keys = sorted(kwargs)
        for k, v in kwargs.items():
            setattr(self, k, v)

    @property
    def use_return_dict(self):
        return self.return_dict and not self.torchscript

    @property
    def num_labels(self):
        return len(self.id2label)

    @classmethod
    def from_dict(cls, d):
        return cls(**dict(d))

    @classmethod
    def from_json_file(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    def to_dict(self):
        d = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        d["model_type"] = self.model_type
        return d
