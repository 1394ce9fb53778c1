#!/usr/bin/env python3
"""Group the CPU samples of a `perf record` of `ponet bench` by kernel, for the README's per-op tables.

Usage: perf script -i ponet.data -F time,ip,sym,dso | python3 tools/profile/group.py [--json out.json]

Only the samples between the first and the last LayerNorm-backward sample are counted: those are
the timed training steps (the warm-up, the inference timing and the process start are left out).
Record with DOTNET_PerfMapEnabled=1 and DOTNET_EnableWriteXorExecute=0 so that perf names the
JIT-compiled .NET methods (with W^X on, .NET runs them from a memfd mapping perf cannot map).
"""
import json
import re
import sys
from collections import Counter

# (group, pattern on "symbol (dso)"); the first match wins, so the specific ones come first.
GROUPS = [
    ("MKL sgemm", r"mkl_blas|sgemm|gemm_|_gemm|dnnl|oneDNN|brgemm|jit_avx"),
    ("kernel: clear_page", r"clear_page"),
    ("kernel: other", r"\[kernel\.kallsyms\]"),
    (".NET: pool kernel (PoolGateKernel)", r"PoolGateKernel"),
    (".NET: GA node", r"GlobalAggregation"),
    (".NET: dropout masks", r"DropoutMasks|SplitMix"),
    (".NET: JIT compiler (tiered re-compilation)", r"libclrjit"),
    (".NET: runtime (GC, stubs)", r"libcoreclr"),
    (".NET: other managed code", r"perf-\d+\.map|\[JIT\]|System\.Private|\.dll|memfd:doublemapper"),
    ("FFT", r"fft|pocketfft|mkl_dft|^LR_\d+|^LF_\d+"),
    ("LayerNorm fwd + bwd", r"[Ll]ayer_?[Nn]orm|RowwiseMoments"),
    ("max_pool1d (LMP)", r"max_pool1d|MaxPool|max_pool"),
    ("amax / max reductions", r"amax|max_values|max_kernel|reduce_max|MaxOps"),
    ("eq / comparisons", r"eq_kernel|compare|eq_"),
    ("sum reductions", r"sum_kernel|cascade_sum|sum_|mean_kernel|reduce_sum"),
    ("element-wise mul", r"mul_kernel|mul_|MulFunctor"),
    ("element-wise add / sub", r"add_kernel|add_|sub_kernel|AddFunctor"),
    ("softmax", r"softmax"),
    ("copies (cat, transposes, contiguous)", r"copy|cat_|[Cc]at[A-Z]|transpose|contiguous|memcpy|memmove"),
    ("memset / fills", r"memset|fill_"),
    ("allocator (malloc, free)", r"malloc|free|_int_|alloc"),
]
LAYER_NORM_BACKWARD = re.compile(r"[Ll]ayer_?[Nn]orm.*[Bb]ackward|LayerNormBackward")
LINE = re.compile(r"^\s*(?:\S+\s+)*?(\d+\.\d+):\s*(?:[0-9a-f]+\s+)?(.*)$")


def main():
    samples = []
    for line in sys.stdin:
        m = LINE.match(line)
        if m:
            samples.append((float(m.group(1)), m.group(2).strip()))
    ln = [i for i, (_, s) in enumerate(samples) if LAYER_NORM_BACKWARD.search(s)]
    if not ln:
        sys.exit("no LayerNorm-backward sample: is this a training run?")
    window = samples[ln[0]: ln[-1] + 1]
    counts = Counter()
    unmatched = Counter()
    for _, s in window:
        for name, pattern in GROUPS:
            if re.search(pattern, s):
                counts[name] += 1
                break
        else:
            counts["other"] += 1
            unmatched[s] += 1
    total = len(window)
    seconds = window[-1][0] - window[0][0]
    print(f"{total} samples in {seconds:.1f} s of training steps")
    print("| share of CPU time | samples |\n|---|---|")
    for name, n in counts.most_common():
        print(f"| {name} | {100 * n / total:.1f} % ({n}) |")
    print("\nlargest unmatched symbols:", file=sys.stderr)
    for s, n in unmatched.most_common(15):
        print(f"  {n:6d}  {s[:150]}", file=sys.stderr)
    if "--json" in sys.argv:
        path = sys.argv[sys.argv.index("--json") + 1]
        with open(path, "w") as f:
            json.dump({"samples": total, "seconds": seconds,
                       "shares": {k: v / total for k, v in counts.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
