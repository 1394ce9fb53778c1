using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PoNet.Runtime;

/// <summary>
/// A caching allocator for libtorch's large CPU tensors (docs/MODEL.md §10.10). glibc's heap
/// fragments under a training step's pattern of large allocations: between steps only ~64 MB is
/// in use, yet each step still extends the heap by tens of MB, so a PoNet LRA Text run grows to
/// ~4.3 GB for a 1.3 GB working set and spends up to a third of an early step zeroing fresh pages.
/// With this cache, blocks of 1 MiB and more are kept when freed and handed out again for
/// requests of about the same size (size classes of 2 MiB, a block serves requests down to 4/5
/// of its size); the same shapes every step then reuse the same blocks and the heap stops growing.
/// Smaller tensors still come from libtorch's own allocator.
/// <para>
/// How it plugs in: libtorch keeps one <c>c10::Allocator*</c> for CPU tensors, with a C++
/// vtable (destructors, allocate, is_simple_data_ptr, raw_deleter, copy_data). <see cref="Install"/>
/// copies the default allocator's vtable, replaces <c>allocate</c> and <c>raw_deleter</c> with the
/// methods below and registers the copy with <c>c10::SetCPUAllocator</c>. Before that it checks
/// the layout it relies on against the running libtorch (the slot of is_simple_data_ptr, and a
/// test allocation's DataPtr: data == context, the allocator's own deleter, device CPU) and stays
/// out when anything differs, so another libtorch build falls back to glibc instead of crashing.
/// Linux x64 only. Values are untouched: this only decides which memory a tensor gets.
/// </para>
/// <para>
/// Caching is on after <see cref="Enable"/> (what <see cref="NativeMemory.KeepFreedMemory"/>
/// does) and off after <see cref="Disable"/> (<see cref="NativeMemory.ReturnFreedMemory"/>,
/// for measuring working sets); PONET_TENSOR_CACHE=0 keeps it out altogether. Free blocks are
/// held up to twice the largest amount ever in use at once; beyond that the largest free blocks
/// go back to the system.
/// </para>
/// </summary>
public static unsafe class TensorBlockCache
{
    /// <summary>Requests from this size on are served from the cache.</summary>
    public const long MinBlockBytes = 1L << 20;
    const long ClassBytes = 2L << 20;
    const int Slots = 6, AllocateSlot = 2, IsSimpleSlot = 3, RawDeleterSlot = 4;
    const nuint PageAlignment = 2u << 20;
    const int MADV_HUGEPAGE = 14, PROT_READ_WRITE = 3, MAP_PRIVATE_ANONYMOUS = 0x22;

    static readonly object gate = new();
    static bool installed, caching;
    static string? refusal;
    static void* original;                                              // the default c10::Allocator
    static delegate* unmanaged<void*, void*, nuint, void*> originalAllocate; // (sret DataPtr*, this, n)
    static delegate* unmanaged<void*, void> originalDelete;             // its deleter (ReportAndDelete)

    // Every block this cache made, in use or free, by address → its size; free ones by size.
    static readonly Dictionary<nint, long> blocks = [];
    static readonly SortedDictionary<long, Stack<nint>> free = [];
    static long reservedBytes, freeBytes, inUseBytes, peakInUseBytes, peakReservedBytes, hits, misses, released;
    static bool hugePages;

    [DllImport("libc", EntryPoint = "mmap")] static extern void* Mmap(void* address, nuint length, int protection, int flags, int fd, nint offset);
    [DllImport("libc", EntryPoint = "munmap")] static extern int Munmap(void* address, nuint length);
    [DllImport("libc", EntryPoint = "getenv")] static extern nint GetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);
    [DllImport("libc", EntryPoint = "madvise")] static extern int Madvise(void* p, nuint length, int advice);

    /// <summary>Whether the allocator is registered with libtorch (it may still pass everything through: <see cref="Caching"/>).</summary>
    public static bool Installed { get { lock (gate) return installed; } }

    /// <summary>Whether freed large blocks are kept for reuse now.</summary>
    public static bool Caching { get { lock (gate) return caching; } }

    /// <summary>Why <see cref="Install"/> stayed out, or null.</summary>
    public static string? Refusal { get { lock (gate) return refusal; } }

    /// <summary>Bytes of blocks held: in use by tensors plus free for reuse.</summary>
    public static long ReservedBytes { get { lock (gate) return reservedBytes; } }

    /// <summary>Bytes of free blocks held for reuse.</summary>
    public static long FreeBytes { get { lock (gate) return freeBytes; } }

    /// <summary>Bytes of blocks in use by tensors now, and the most at any time so far (which sets how much may stay free: twice that).</summary>
    public static (long Now, long Peak) InUseBytes { get { lock (gate) return (inUseBytes, peakInUseBytes); } }

    /// <summary>Largest <see cref="ReservedBytes"/> so far.</summary>
    public static long PeakReservedBytes { get { lock (gate) return peakReservedBytes; } }

    /// <summary>Large requests served from a free block / by a new block, and blocks given back to the system.</summary>
    public static (long Hits, long Misses, long Released) Counts { get { lock (gate) return (hits, misses, released); } }

    /// <summary>Registers the allocator with libtorch (once) and turns caching on. False when it cannot (see <see cref="Refusal"/>).</summary>
    public static bool Enable()
    {
        lock (gate)
        {
            if (!Install()) return false;
            caching = true;
            return true;
        }
    }

    /// <summary>Turns caching off: large requests get fresh memory and freed blocks go back to the system, including those free now.</summary>
    public static void Disable()
    {
        lock (gate)
        {
            caching = false;
            ReleaseFree(0);
        }
    }

    /// <summary>Gives every free block back to the system.</summary>
    public static void Trim()
    {
        lock (gate) ReleaseFree(0);
    }

    static bool Install()
    {
        if (installed) return true;
        if (refusal is not null) return false;
        refusal = TryInstall();
        installed = refusal is null;
        return installed;
    }

    static string? TryInstall()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return "only on Linux x64";
        if (Environment.GetEnvironmentVariable("PONET_TENSOR_CACHE") == "0") return "PONET_TENSOR_CACHE=0";
        NativeRuntime.EnsureLoaded();
        nint c10;
        try
        {
            c10 = NativeLibrary.Load(Path.Combine(AppContext.BaseDirectory, "libc10.so"));
        }
        catch (DllNotFoundException e)
        {
            return $"libc10.so: {e.Message}";
        }
        if (!NativeLibrary.TryGetExport(c10, "_ZN3c1015GetCPUAllocatorEv", out var get)
            || !NativeLibrary.TryGetExport(c10, "_ZN3c1015SetCPUAllocatorEPNS_9AllocatorEh", out var set)
            || !NativeLibrary.TryGetExport(c10, "_ZNK3c109Allocator18is_simple_data_ptrERKNS_7DataPtrE", out var isSimple))
            return "libc10.so lacks c10::GetCPUAllocator, c10::SetCPUAllocator or c10::Allocator::is_simple_data_ptr";
        void* allocator = ((delegate* unmanaged<void*>)get)();
        if (allocator == null) return "no CPU allocator registered";
        var vtable = *(nint**)allocator;
        // The Itanium C++ ABI lays the vtable out in declaration order: two destructors, allocate,
        // is_simple_data_ptr, raw_deleter, copy_data. The one entry with an exported address is the check.
        if (vtable[IsSimpleSlot] != isSimple) return "the CPU allocator's vtable is not laid out as in libtorch 2.x";
        var allocate = (delegate* unmanaged<void*, void*, nuint, void*>)vtable[AllocateSlot];
        var deleter = ((delegate* unmanaged<void*, void*>)vtable[RawDeleterSlot])(allocator);
        if (deleter == null) return "the CPU allocator has no raw deleter";
        // A test allocation: DataPtr = {data, deleter, context, device type, device index} as
        // libstdc++ stores UniqueVoidPtr's unique_ptr<void, deleter> (the deleter first).
        var probe = stackalloc nint[4];
        new Span<nint>(probe, 4).Clear();
        allocate(probe, allocator, 4096);
        bool layout = probe[0] != 0 && probe[0] == probe[2] && (void*)probe[1] == deleter
                      && ((byte*)probe)[24] == 0 && ((sbyte*)probe)[25] == -1;
        if (probe[1] != 0 && probe[2] != 0) ((delegate* unmanaged<void*, void>)probe[1])((void*)probe[2]);
        if (!layout) return "the CPU allocator's DataPtr is not laid out as in libtorch 2.x";

        original = allocator;
        originalAllocate = allocate;
        originalDelete = (delegate* unmanaged<void*, void>)deleter;
        // As libtorch does for its own allocations of 2 MiB and more; read from the native environment,
        // where NativeRuntime sets it (the managed copy of the environment does not see that).
        var thp = Marshal.PtrToStringUTF8(GetEnv("THP_MEM_ALLOC_ENABLE"))?.ToUpperInvariant();
        hugePages = thp is "1" or "ON" or "YES" or "TRUE" or "Y";
        // Our allocator object: a copy of the vtable (with its offset-to-top and typeinfo words)
        // with two entries replaced, and an object that is only a vptr, like the default allocator.
        var table = (nint*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)((Slots + 2) * sizeof(nint)));
        for (int i = -2; i < Slots; i++) table[i + 2] = vtable[i];
        table[2 + AllocateSlot] = (nint)(delegate* unmanaged<void*, void*, nuint, void*>)&Allocate;
        table[2 + RawDeleterSlot] = (nint)(delegate* unmanaged<void*, void*>)&RawDeleter;
        var self = (nint*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)(2 * sizeof(nint)));
        self[0] = (nint)(table + 2);
        ((delegate* unmanaged<void*, byte, void>)set)(self, byte.MaxValue);
        return ((delegate* unmanaged<void*>)get)() == self ? null : "c10::SetCPUAllocator did not take the allocator";
    }

    [UnmanagedCallersOnly]
    static void* RawDeleter(void* self) => (delegate* unmanaged<void*, void>)&Release;

    /// <summary>c10::Allocator::allocate(n) with its DataPtr returned through <paramref name="result"/> (the ABI's hidden pointer).</summary>
    [UnmanagedCallersOnly]
    static void* Allocate(void* result, void* self, nuint n)
    {
        var dataPtr = (nint*)result;
        void* data = null;
        if ((long)n >= MinBlockBytes)
        {
            lock (gate)
                if (caching) data = Take((long)n);
        }
        if (data == null)
        {
            originalAllocate(result, original, n);
            // Same memory and context, but our deleter: raw_deleter() must be the deleter of every DataPtr we return.
            dataPtr[1] = (nint)(delegate* unmanaged<void*, void>)&Release;
            return result;
        }
        dataPtr[0] = (nint)data;
        dataPtr[1] = (nint)(delegate* unmanaged<void*, void>)&Release;
        dataPtr[2] = (nint)data;
        dataPtr[3] = 0;
        ((sbyte*)result)[24] = 0;   // DeviceType::CPU
        ((sbyte*)result)[25] = -1;  // no index
        return result;
    }

    /// <summary>The deleter of every DataPtr from <see cref="Allocate"/> (context == data).</summary>
    [UnmanagedCallersOnly]
    static void Release(void* data)
    {
        lock (gate)
        {
            if (blocks.TryGetValue((nint)data, out long size))
            {
                inUseBytes -= size;
                if (caching)
                {
                    if (!free.TryGetValue(size, out var stack)) free[size] = stack = new Stack<nint>();
                    stack.Push((nint)data);
                    freeBytes += size;
                    ReleaseFree(Math.Max(2 * peakInUseBytes, 256L << 20));
                }
                else
                {
                    blocks.Remove((nint)data);
                    reservedBytes -= size;
                    released++;
                    Munmap(data, (nuint)size);
                }
                return;
            }
        }
        originalDelete(data);
    }

    /// <summary>A free block for <paramref name="n"/> bytes (at most 5/4 of its class), or a new one; null when memory is exhausted. Under the lock.</summary>
    static void* Take(long n)
    {
        long size = (n + ClassBytes - 1) / ClassBytes * ClassBytes;
        foreach (var (blockSize, stack) in free)
        {
            if (blockSize < size) continue;
            if (blockSize > size + size / 4) break;
            var block = stack.Pop();
            if (stack.Count == 0) free.Remove(blockSize);
            freeBytes -= blockSize;
            inUseBytes += blockSize;
            peakInUseBytes = Math.Max(peakInUseBytes, inUseBytes);
            hits++;
            return (void*)block;
        }
        void* data = MapAligned(size);
        if (data == null)
        {
            ReleaseFree(0);
            if ((data = MapAligned(size)) == null) return null;  // libtorch's allocator reports it
        }
        blocks[(nint)data] = size;
        reservedBytes += size;
        inUseBytes += size;
        peakInUseBytes = Math.Max(peakInUseBytes, inUseBytes);
        peakReservedBytes = Math.Max(peakReservedBytes, reservedBytes);
        misses++;
        return data;
    }

    /// <summary>
    /// <paramref name="size"/> bytes of fresh memory at a 2 MiB boundary, as its own mapping (so that
    /// giving it back returns it to the system at once, outside glibc's heap), with transparent huge
    /// pages requested as libtorch requests them; null when the system refuses.
    /// </summary>
    static void* MapAligned(long size)
    {
        nuint length = (nuint)size + PageAlignment;
        var p = (byte*)Mmap(null, length, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0);
        if (p == (byte*)-1 || p == null) return null;
        var aligned = (byte*)(((nuint)p + PageAlignment - 1) & ~(PageAlignment - 1));
        nuint head = (nuint)(aligned - p), tail = length - head - (nuint)size;
        if (head > 0) Munmap(p, head);
        if (tail > 0) Munmap(aligned + size, tail);
        if (hugePages) Madvise(aligned, (nuint)size, MADV_HUGEPAGE);
        return aligned;
    }

    /// <summary>Gives free blocks back, largest first, until at most <paramref name="keepBytes"/> are free. Under the lock.</summary>
    static void ReleaseFree(long keepBytes)
    {
        while (freeBytes > keepBytes && free.Count > 0)
        {
            var (size, stack) = free.Last();
            var block = stack.Pop();
            if (stack.Count == 0) free.Remove(size);
            blocks.Remove(block);
            freeBytes -= size;
            reservedBytes -= size;
            released++;
            Munmap((void*)block, (nuint)size);
        }
    }

    /// <summary>The blocks held, by size: how many, and how many of them are free now.</summary>
    public static IReadOnlyList<(long Bytes, int Count, int Free)> Blocks()
    {
        lock (gate)
            return [.. blocks.GroupBy(kv => kv.Value).OrderBy(g => g.Key)
                .Select(g => (g.Key, g.Count(), free.TryGetValue(g.Key, out var stack) ? stack.Count : 0))];
    }

    /// <summary>Whether <paramref name="tensor"/>'s data lies in a block of this cache.</summary>
    public static bool Owns(TorchSharp.torch.Tensor tensor)
    {
        var address = DataAddress(tensor);
        lock (gate)
            foreach (var (start, size) in blocks)
                if (address >= start && address < start + (nint)size) return true;
        return false;
    }

    /// <summary>The address of <paramref name="tensor"/>'s first element.</summary>
    public static nint DataAddress(TorchSharp.torch.Tensor tensor) =>
        (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));
}
