"""Negative controls for check.py: show that its comparisons, at its tolerances, would catch a gelu/gelu_new mix-up,
a wrong LayerNorm eps, a transposed Linear weight, an ignored BERT attention_mask and wrong FNet padding handling,
and print the output magnitudes. Run after check.py (uses $HF_PARITY_WORK/hf_models/*_A|_D and out/*.safetensors).
Exits 1 if any control is NOT detected (the check would be insensitive to that mistake) or a parity value is off."""
import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source folder free of __pycache__
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import torch  # noqa: E402

import check  # noqa: E402  (puts ./hf on sys.path; ROOT, TOL, PONET come from the environment as there)
import st  # noqa: E402

torch.set_num_threads(1)
ROOT = check.ROOT
PROBLEMS = []
inp, _, _ = st.load(os.path.join(ROOT, "inputs.safetensors"))
mask = inp["input.attention_mask"]


def load_hf(arch, mdir, transpose=None, **over):
    Cfg, Model, _ = check.ARCH[arch]
    cj = json.load(open(os.path.join(mdir, "config.json")))
    cj.update(over)
    m = Model(Cfg.from_dict(cj)).eval()
    t, _, _ = st.load(os.path.join(mdir, "model.safetensors"))
    sd = {k: torch.from_numpy(v) for k, v in t.items()}
    if transpose:
        sd[transpose] = sd[transpose].t().contiguous()
    m.load_state_dict(sd, strict=False)  # modern layout: position_ids / tied decoder keys are absent by design
    return m


def detected(label, diffs):
    """diffs: output name -> max|diff|. A control is detected when some output exceeds check.TOL by it."""
    over = {n: d for n, d in diffs.items() if not d <= check.TOL[n]}
    ok = bool(over)
    best = max(diffs, key=lambda n: diffs[n] / check.TOL[n])
    print(f"  {label}: " + ", ".join(f"{n} {d:.2e}" for n, d in diffs.items())
          + f"  -> {'detected' if ok else 'NOT DETECTED'} (largest {diffs[best] / check.TOL[best]:.3g}x tolerance, {best})")
    if not ok:
        PROBLEMS.append(f"check insensitive to: {label}")


def out_file(tag):
    t, _, _ = st.load(os.path.join(ROOT, "out", f"{tag}.safetensors"))
    return {k.split(".", 1)[1]: v for k, v in t.items()}


print("tolerances: " + ", ".join(f"{n} {t:g}" for n, t in check.TOL.items()))
for arch, tag, wrong in [("bert", "bert_D", [{"hidden_act": "gelu"}, {"layer_norm_eps": 1e-12}]),
                         ("fnet", "fnet_D", [{"hidden_act": "gelu_new"}, {"layer_norm_eps": 1e-12}])]:
    mdir = os.path.join(ROOT, "hf_models", tag)
    ours = out_file(tag)
    print(f"{tag}: max|ponet output|: " + ", ".join(f"{n} {np.abs(ours[n]).max():.3g}" for n in check.NAMES))
    for w in wrong:
        hf = check.hf_forward(load_hf(arch, mdir, **w), arch, inp)
        detected(f"{tag} HF with {w} (wrong on purpose) vs ponet",
                 {n: float(np.abs(hf[n] - ours[n]).max()) for n in check.NAMES})
    key = f"{arch}.pooler.dense.weight"
    hf = check.hf_forward(load_hf(arch, mdir, transpose=key), arch, inp)
    detected(f"{tag} HF with {key} transposed (a weight-mapping mistake) vs ponet",
             {n: float(np.abs(hf[n] - ours[n]).max()) for n in check.NAMES})

# BERT attention_mask: if ponet ignored the mask (i.e. behaved as with an all-ones mask), would the check notice?
valid = mask.astype(bool)
ours_ones = out_file("bert_ours_allones")  # ponet on our checkpoint with the mask all ones (written by check.py)
ours_mask = out_file("bert_ours")
d = {n: float(np.abs(ours_ones[n][valid] - ours_mask[n][valid]).max()) if ours_mask[n].ndim == 3
     else float(np.abs(ours_ones[n] - ours_mask[n]).max()) for n in check.NAMES}
detected("bert_ours ponet with attention_mask ignored (all ones) vs masked, valid tokens only", d)

# FNet padding: HF mixes pad tokens into the Fourier transform, so row 1's real tokens depend on the pads.
mdir = os.path.join(ROOT, "hf_models", "fnet_A")
m = load_hf("fnet", mdir)
n_valid = int(mask[1].sum())
short = {k: v[1:2, :n_valid] for k, v in inp.items()}
with torch.no_grad():
    full = check.hf_forward(m, "fnet", inp)["last_hidden_state"][1, :n_valid]
    trunc = check.hf_forward(m, "fnet", short)["last_hidden_state"][0]
pad_effect = float(np.abs(full - trunc).max())
print(f"fnet_A: HF row 1 real tokens, padded to 16 vs unpadded ({n_valid}): max diff {pad_effect:.3e}")
detected("fnet_A padding handled like unpadded (HF padded vs HF unpadded)", {"last_hidden_state": pad_effect})
short_path = os.path.join(ROOT, "inputs_fnet_short.safetensors")
st.save(short_path, short)
ours_s, log = check.ponet_forward(mdir, short_path, "fnet_A_short")
if ours_s is None:
    PROBLEMS.append("ponet forward failed on the unpadded FNet input: " + log)
else:
    ours_f = out_file("fnet_A")
    p_pad = float(np.abs(ours_f["last_hidden_state"][1, :n_valid] - ours_s["last_hidden_state"][0]).max())
    p_hf = float(np.abs(ours_s["last_hidden_state"][0] - trunc).max())
    print(f"  ponet same two runs: padded vs unpadded max diff {p_pad:.3e}; ponet unpadded vs HF unpadded {p_hf:.3e}")
    if not p_hf <= check.TOL["last_hidden_state"]:
        PROBLEMS.append(f"ponet unpadded FNet vs HF unpadded {p_hf:.3e} > {check.TOL['last_hidden_state']:g}")

if PROBLEMS:
    print("CONTROLS FAILED:")
    for p in PROBLEMS:
        print("  - " + p)
    sys.exit(1)
print("CONTROLS PASSED: every deliberate mistake exceeds the tolerances")
