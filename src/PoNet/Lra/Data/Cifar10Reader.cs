namespace PoNet.Lra.Data;

/// <summary>
/// The LRA Image task: CIFAR-10 "binary version" batches (<c>data_batch_1.bin</c>..<c>data_batch_5.bin</c>,
/// <c>test_batch.bin</c>; each record is 1 label byte then 3072 bytes, the 32×32 R, G and B planes)
/// turned grey with 0.2989 R + 0.5870 G + 0.1140 B rounded to the nearest integer. The 1024 tokens
/// are the grey values 0..255 row by row; token 0 is a black pixel, not padding (every image has
/// all 1024 positions). LRA evaluated on the test set during training, so Dev is Test.
/// </summary>
public static class Cifar10Reader
{
    public const int Side = 32;
    private const int RecordBytes = 1 + 3 * Side * Side;

    /// <summary>The batches in <paramref name="folder"/> or in its <c>cifar-10-batches-bin</c> subfolder.</summary>
    public static LraSplit<LraExample> ReadFolder(string folder)
    {
        string nested = Path.Combine(folder, "cifar-10-batches-bin");
        if (!File.Exists(Path.Combine(folder, "test_batch.bin")) && Directory.Exists(nested))
            folder = nested;
        var train = new List<LraExample>();
        for (int i = 1; i <= 5; i++)
            train.AddRange(ReadBatch(Path.Combine(folder, $"data_batch_{i}.bin")));
        var test = ReadBatch(Path.Combine(folder, "test_batch.bin"));
        return new LraSplit<LraExample>(train, test, test);
    }

    public static List<LraExample> ReadBatch(string path)
    {
        if (!File.Exists(path))
            throw new PoNetInputException($"{path}: no such CIFAR-10 batch (expected data_batch_1..5.bin and test_batch.bin of the binary version)");
        byte[] data = File.ReadAllBytes(path);
        if (data.Length == 0 || data.Length % RecordBytes != 0)
            throw new PoNetInputException($"{path}: {data.Length} bytes is not a whole number of {RecordBytes}-byte records (1 label byte + 32×32 R, G, B planes)");
        int count = data.Length / RecordBytes;
        var examples = new List<LraExample>(count);
        const int plane = Side * Side;
        for (int n = 0; n < count; n++)
        {
            var record = data.AsSpan(n * RecordBytes, RecordBytes);
            if (record[0] > 9)
                throw new PoNetInputException($"{path}: record {n} (byte {(long)n * RecordBytes}) has label {record[0]}, expected a class 0-9");
            var tokens = new int[plane];
            for (int p = 0; p < plane; p++)
                tokens[p] = Grey(record[1 + p], record[1 + plane + p], record[1 + 2 * plane + p]);
            examples.Add(new LraExample(tokens, record[0]));
        }
        return examples;
    }

    /// <summary>The luma weights of tf.image.rgb_to_grayscale, rounded to the nearest integer.</summary>
    public static int Grey(byte r, byte g, byte b) =>
        (int)Math.Round(0.2989 * r + 0.5870 * g + 0.1140 * b, MidpointRounding.AwayFromZero);
}
