"""Write inputs.safetensors: B=2, N=16; row 1 has 5 pad tokens (id 0, mask 0); token_type_ids 0/1 split.
Usage: make_inputs.py [OUT]   (default $HF_PARITY_WORK/inputs.safetensors, HF_PARITY_WORK default /tmp/ponet-hf-parity)"""
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

rng = np.random.RandomState(0)
N = 16
ids = rng.randint(1000, 30000, size=(2, N)).astype(np.int64)
tt = np.zeros((2, N), np.int64)
mask = np.ones((2, N), np.int64)
# row 0: [CLS] a*6 [SEP] b*7 [SEP]
ids[0, 0], ids[0, 7], ids[0, 15] = 101, 102, 102
tt[0, 8:] = 1
# row 1: [CLS] a*4 [SEP] b*4 [SEP] [PAD]*5
ids[1, 0], ids[1, 5], ids[1, 10] = 101, 102, 102
tt[1, 6:11] = 1
ids[1, 11:] = 0
mask[1, 11:] = 0
work = os.environ.get("HF_PARITY_WORK", "/tmp/ponet-hf-parity")
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(work, "inputs.safetensors")
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
st.save(out,
        {"input.input_ids": ids, "input.attention_mask": mask, "input.token_type_ids": tt})
print(ids, mask, tt, sep="\n")
