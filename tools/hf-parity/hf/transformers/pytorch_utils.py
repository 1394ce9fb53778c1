# SHIM for transformers.pytorch_utils (apply_chunking_to_forward as HF defines it; pruning helpers unused here)
import inspect

import torch


def apply_chunking_to_forward(forward_fn, chunk_size, chunk_dim, *input_tensors):
    assert len(input_tensors) > 0, f"{input_tensors} has to be a tuple/list of tensors"
    num_args_in_forward_chunk_fn = len(inspect.signature(forward_fn).parameters)
    if num_args_in_forward_chunk_fn != len(input_tensors):
        raise ValueError("forward_chunk_fn expects a different number of input tensors")
    if chunk_size > 0:
        tensor_shape = input_tensors[0].shape[chunk_dim]
        num_chunks = input_tensors[0].shape[chunk_dim] // chunk_size
        input_tensors_chunks = tuple(input_tensor.chunk(num_chunks, dim=chunk_dim) for input_tensor in input_tensors)
        output_chunks = tuple(forward_fn(*input_tensors_chunk) for input_tensors_chunk in zip(*input_tensors_chunks))
        return torch.cat(output_chunks, dim=chunk_dim)
    return forward_fn(*input_tensors)


def find_pruneable_heads_and_indices(*args, **kwargs):
    raise NotImplementedError("head pruning is not part of this check")


def prune_linear_layer(*args, **kwargs):
    raise NotImplementedError("head pruning is not part of this check")
