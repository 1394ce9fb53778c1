using System.Buffers.Binary;
using System.IO.Compression;
using PoNet.Lra.Data;
using Xunit;

namespace PoNet.Tests.Lra;

public class ImageTests
{
    [Theory]
    [InlineData(0, 0, 0, 0)]
    [InlineData(255, 255, 255, 255)] // the weights sum to 0.9999: 254.97 rounds to 255
    [InlineData(255, 0, 0, 76)] // 76.22
    [InlineData(0, 255, 0, 150)] // 149.69
    [InlineData(0, 0, 255, 29)] // 29.07
    [InlineData(10, 20, 30, 18)] // 2.989 + 11.74 + 3.42 = 18.149
    public void GreyUsesTheLraWeights(byte r, byte g, byte b, int grey) =>
        Assert.Equal(grey, Cifar10Reader.Grey(r, g, b));

    private static byte[] CifarRecord(byte label, byte r, byte g, byte b, int specialPixel)
    {
        var record = new byte[3073];
        record[0] = label;
        // Plane order R, G, B: a wrong plane offset gives a different grey for the special pixel.
        record[1 + specialPixel] = r;
        record[1 + 1024 + specialPixel] = g;
        record[1 + 2048 + specialPixel] = b;
        return record;
    }

    [Fact]
    public void ReadsCifarBatches()
    {
        using var dir = new TempDir();
        for (int i = 1; i <= 5; i++)
            dir.Write($"cifar-10-batches-bin/data_batch_{i}.bin", CifarRecord((byte)i, 255, 0, 0, specialPixel: 33));
        dir.Write("cifar-10-batches-bin/test_batch.bin", [.. CifarRecord(9, 0, 255, 0, 1023), .. CifarRecord(0, 0, 0, 255, 0)]);

        var split = Cifar10Reader.ReadFolder(dir.Path);

        Assert.Equal([1, 2, 3, 4, 5], split.Train.Select(e => e.Label));
        Assert.All(split.Train, e => Assert.Equal(1024, e.Tokens.Length));
        Assert.Equal(76, split.Train[0].Tokens[33]);
        Assert.Equal(0, split.Train[0].Tokens.Sum() - 76);
        Assert.Equal(150, split.Test[0].Tokens[1023]);
        Assert.Equal(29, split.Test[1].Tokens[0]);
        Assert.Same(split.Test, split.Dev);
    }

    [Fact]
    public void CifarErrorsNameTheFile()
    {
        using var dir = new TempDir();
        string shortFile = dir.Write("short.bin", new byte[3000]);
        Assert.Contains("3073-byte records", Assert.Throws<PoNetInputException>(() => Cifar10Reader.ReadBatch(shortFile)).Message);
        string badLabel = dir.Write("label.bin", [.. CifarRecord(1, 0, 0, 0, 0), .. CifarRecord(10, 0, 0, 0, 0)]);
        var e = Assert.Throws<PoNetInputException>(() => Cifar10Reader.ReadBatch(badLabel));
        Assert.Contains("record 1", e.Message);
        Assert.Contains(badLabel, e.Message);
        Assert.Contains("data_batch_1.bin", Assert.Throws<PoNetInputException>(() => Cifar10Reader.ReadFolder(dir.Path)).Message);
    }

    private static byte[] Idx(int magic, int[] dims, byte[] data)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int i = 0; i < dims.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
            gzip.Write(data);
        return output.ToArray();
    }

    /// <summary>Two 28×28 images whose pixel (r, c) is r + c (image 0) and 100 + r (image 1).</summary>
    private static byte[] TwoImages()
    {
        var pixels = new byte[2 * 28 * 28];
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++)
            {
                pixels[r * 28 + c] = (byte)(r + c);
                pixels[784 + r * 28 + c] = (byte)(100 + r);
            }
        return Idx(IdxFile.ImagesMagic, [2, 28, 28], pixels);
    }

    [Fact]
    public void ReadsMnistLayoutGzippedOrNotAndPadsToTheCentre()
    {
        using var dir = new TempDir();
        dir.Write("train-images-idx3-ubyte.gz", Gzip(TwoImages()));
        dir.Write("train-labels-idx1-ubyte", Idx(IdxFile.LabelsMagic, [2], [3, 7]));
        dir.Write("t10k-images-idx3-ubyte", TwoImages());
        dir.Write("t10k-labels-idx1-ubyte.gz", Gzip(Idx(IdxFile.LabelsMagic, [2], [0, 9])));

        var padded = MnistReader.ReadFolder(dir.Path, padTo: 32);
        Assert.Equal([3, 7], padded.Train.Select(e => e.Label));
        Assert.Equal([0, 9], padded.Test.Select(e => e.Label));
        var tokens = padded.Train[0].Tokens;
        Assert.Equal(1024, tokens.Length);
        // A 2-pixel black border: pixel (r, c) of the 28×28 image lands at (r + 2, c + 2).
        Assert.Equal(0, tokens[0 * 32 + 0]);
        Assert.Equal(0, tokens[1 * 32 + 31]);
        Assert.Equal(0 + 0, tokens[2 * 32 + 2]);
        Assert.Equal(5 + 7, tokens[(5 + 2) * 32 + 7 + 2]);
        Assert.Equal(27 + 27, tokens[29 * 32 + 29]);
        Assert.Equal(0, tokens[30 * 32 + 30]);
        Assert.Equal(100 + 27, padded.Train[1].Tokens[29 * 32 + 2]);

        var original = MnistReader.ReadFolder(dir.Path, padTo: 0);
        Assert.Equal(784, original.Test[0].Tokens.Length);
        Assert.Equal(5 + 7, original.Test[0].Tokens[5 * 28 + 7]);
    }

    [Fact]
    public void IdxWriteReadRoundTrip()
    {
        using var dir = new TempDir();
        var images = new IdxImages(3, 2, 4, Enumerable.Range(0, 24).Select(i => (byte)(i * 10)).ToArray());
        foreach (string name in new[] { "imgs", "imgs.gz" })
        {
            string path = Path.Combine(dir.Path, name);
            IdxFile.WriteImages(path, images);
            var read = IdxFile.ReadImages(path);
            Assert.Equal((3, 2, 4), (read.Count, read.Rows, read.Columns));
            Assert.Equal(images.Pixels, read.Pixels);
        }
        Assert.Equal(0x1f, File.ReadAllBytes(Path.Combine(dir.Path, "imgs.gz"))[0]);
    }

    [Fact]
    public void IdxErrorsAreClear()
    {
        using var dir = new TempDir();
        string labelsAsImages = dir.Write("a", Idx(IdxFile.LabelsMagic, [2], [1, 2]));
        Assert.Contains("magic number 0x00000801, expected 0x00000803", Assert.Throws<PoNetInputException>(() => IdxFile.ReadImages(labelsAsImages)).Message);

        string truncated = dir.Write("b", TwoImages()[..1000]);
        var e = Assert.Throws<PoNetInputException>(() => IdxFile.ReadImages(truncated));
        Assert.Contains("2 images of 28×28 (1568 bytes)", e.Message);
        Assert.Contains("984 bytes after the header", e.Message);

        string images = dir.Write("c", TwoImages());
        string threeLabels = dir.Write("d", Idx(IdxFile.LabelsMagic, [3], [1, 2, 3]));
        e = Assert.Throws<PoNetInputException>(() => MnistReader.Read(images, threeLabels));
        Assert.Contains("2 images", e.Message);
        Assert.Contains("3 labels", e.Message);

        byte[] gzipped = Gzip(TwoImages());
        string cutGzip = dir.Write("e.gz", gzipped[..(gzipped.Length / 2)]);
        Assert.Contains("gunzip", Assert.Throws<PoNetInputException>(() => IdxFile.ReadImages(cutGzip)).Message);
        string notGzip = dir.Write("f.gz", [0x1f, 0x8b, 1, 2, 3]);
        Assert.Contains("gzip", Assert.Throws<PoNetInputException>(() => IdxFile.ReadLabels(notGzip)).Message);

        Assert.Contains("train-images-idx3-ubyte", Assert.Throws<PoNetInputException>(() => MnistReader.ReadFolder(dir.Path)).Message);
    }
}
