# Makes the pickle seeds of corpus/pickle (python3 make-pickles.py corpus/pickle): valid.bin and two crafted bad ones.
# Writes tiny zip-format PyTorch state dicts without torch: fake torch globals, real pickle opcodes.
import sys, types, pickle, zipfile, io, collections, struct
torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch; sys.modules["torch._utils"] = utils
class FloatStorage: pass
FloatStorage.__module__ = "torch"; torch.FloatStorage = FloatStorage
def _rebuild_tensor_v2(*a): pass
_rebuild_tensor_v2.__module__ = "torch._utils"; utils._rebuild_tensor_v2 = _rebuild_tensor_v2
class Storage:
    def __init__(self, key, numel): self.key, self.numel = key, numel
class Rebuild:
    def __init__(self, storage, offset, size, stride): self.args = (storage, offset, size, stride, False, collections.OrderedDict())
    def __reduce__(self): return (_rebuild_tensor_v2, self.args)
class P(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage): return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None
def write(path, entries, storages):
    buf = io.BytesIO(); P(buf, protocol=2).dump(entries)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        for key, floats in storages.items(): z.writestr(f"archive/data/{key}", struct.pack(f"<{len(floats)}f", *floats))
        z.writestr("archive/version", "3\n")
s = Storage("0", 4)
out = sys.argv[1]
write(f"{out}/valid.bin", collections.OrderedDict([("a.weight", Rebuild(s, 0, (2, 2), (2, 1)))]), {"0": [1, 2, 3, 4]})
write(f"{out}/bad-nonstring-key.bin", collections.OrderedDict([(7, Rebuild(s, 0, (2, 2), (2, 1)))]), {"0": [1, 2, 3, 4]})
write(f"{out}/bad-storage-out-of-bounds.bin", collections.OrderedDict([("a.weight", Rebuild(Storage("0", 4), 2, (3, 3), (3, 1)))]), {"0": [1, 2, 3, 4]})
