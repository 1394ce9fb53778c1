using System.Buffers.Binary;
using System.IO.Compression;
using PoNet.Lra.Data;
using Xunit;

namespace PoNet.Tests.Lra;

public class PathfinderTests
{
    private static readonly PathfinderGenerator Generator = new();

    [Fact]
    public void GenerationIsDeterministicForASeedWhateverTheThreads()
    {
        var a = Generator.Generate(24, seed: 3);
        var b = Generator.Generate(24, seed: 3);
        Assert.Equal(a.Pixels, b.Pixels);
        Assert.Equal(a.Labels, b.Labels);
        Assert.NotEqual(a.Pixels, Generator.Generate(24, seed: 4).Pixels);
        // Image i depends on (seed, i) only: drawn alone it is the same as in the parallel batch.
        for (int i = 0; i < 24; i += 7)
        {
            var sample = Generator.Sample(3, i);
            Assert.Equal(a.Image(i).ToArray(), sample.Pixels);
            Assert.Equal(a.Labels[i], sample.Label);
        }
    }

    [Fact]
    public void AboutHalfArePositive()
    {
        var data = Generator.Generate(400, seed: 11);
        Assert.InRange(data.Labels.Count(l => l == 1), 160, 240); // 50% ± 4 standard deviations
        Assert.All(data.Labels, l => Assert.True(l <= 1));
    }

    [Fact]
    public void MarkersAreJoinedByADashedPathExactlyWhenTheLabelIsOne()
    {
        int[] seen = [0, 0];
        for (int i = 0; i < 40; i++)
        {
            var sample = Generator.Sample(seed: 5, index: i);
            seen[sample.Label]++;
            Assert.Equal(2 * 14, sample.Paddles.Count(p => p.Snake is 0 or 1));
            Assert.Equal(sample.Label == 1, Connected(sample));
        }
        Assert.True(seen[0] > 5 && seen[1] > 5);
    }

    /// <summary>
    /// Paddles are linked when they are at most the 2 px dash gap apart, markers to the paddles they
    /// sit on. Every paddle (targets, distractors, clutter) takes part, so a distractor that bridged
    /// the two target snakes would show up as a wrongly connected negative.
    /// </summary>
    private static bool Connected(PathfinderSample sample)
    {
        var paddles = sample.Paddles;
        int n = paddles.Length;
        double Distance(Paddle a, Paddle b) => Math.Sqrt(Geometry.SegmentDistanceSquared(a.X0, a.Y0, a.X1, a.Y1, b.X0, b.Y0, b.X1, b.Y1));
        double ToMarker(Paddle p, (double X, double Y) m) => Math.Sqrt(Geometry.PointSegmentDistanceSquared(m.X, m.Y, p.X0, p.Y0, p.X1, p.Y1));

        // The far-end marker is centred on the pixel nearest the path's end: within 0.71 px of it.
        var start = Enumerable.Range(0, n).Where(i => ToMarker(paddles[i], sample.MarkerA) < 0.75).ToList();
        var goal = Enumerable.Range(0, n).Where(i => ToMarker(paddles[i], sample.MarkerB) < 0.75).ToHashSet();
        Assert.Single(start);
        Assert.Single(goal);

        var reached = new bool[n];
        var queue = new Queue<int>(start);
        reached[start[0]] = true;
        while (queue.Count > 0)
        {
            int i = queue.Dequeue();
            if (goal.Contains(i))
                return true;
            for (int j = 0; j < n; j++)
                if (!reached[j] && Distance(paddles[i], paddles[j]) <= 2.0 + 1e-9)
                {
                    reached[j] = true;
                    queue.Enqueue(j);
                }
        }
        return false;
    }

    [Fact]
    public void PathsAreBrightestAndMarkersAreTwoThirds()
    {
        for (int i = 0; i < 10; i++)
        {
            var sample = Generator.Sample(seed: 8, index: i);
            Assert.Equal(255, sample.Pixels.Max());
            Assert.Contains((byte)170, sample.Pixels);
            foreach (var (mx, my) in new[] { sample.MarkerA, sample.MarkerB })
                foreach (var (dx, dy) in new[] { (0, 0), (1, 0), (-1, 0), (0, 1), (0, -1) })
                {
                    int x = (int)mx + dx, y = (int)my + dy;
                    if (x is >= 0 and < 32 && y is >= 0 and < 32)
                        Assert.True(sample.Pixels[y * 32 + x] >= 170, $"image {i}: pixel ({x}, {y}) of a marker is {sample.Pixels[y * 32 + x]}");
                }
            // Paths keep off the one-pixel border.
            for (int k = 0; k < 32; k++)
                Assert.True(sample.Pixels[k] == 0 || Near(sample, k, 0), $"image {i}: top border pixel {k} lit by a path");
        }
    }

    private static bool Near(PathfinderSample sample, int x, int y) =>
        new[] { sample.MarkerA, sample.MarkerB }.Any(m => Math.Abs(m.X - x) <= 2 && Math.Abs(m.Y - y) <= 2);

    [Fact]
    public void SaveLoadRoundTripAndSplit()
    {
        using var dir = new TempDir();
        var data = Generator.Generate(20, seed: 1);
        data.Save(dir.Path);
        var loaded = PathfinderDataset.Load(dir.Path);
        Assert.Equal(data.Pixels, loaded.Pixels);
        Assert.Equal(data.Labels, loaded.Labels);
        Assert.Equal(32, loaded.Side);

        var split = loaded.ToSplit();
        Assert.Equal((16, 2, 2), (split.Train.Count, split.Dev.Count, split.Test.Count));
        Assert.Equal(data.Image(17).ToArray().Select(b => (int)b), split.Dev[1].Tokens);
        Assert.Equal(data.Labels[19], split.Test[1].Label);
    }

    [Fact]
    public void LoadRejectsMismatchedFiles()
    {
        using var dir = new TempDir();
        Generator.Generate(3, seed: 1).Save(dir.Path);
        IdxFile.WriteLabels(Path.Combine(dir.Path, PathfinderDataset.LabelsFile), [1, 0]);
        var e = Assert.Throws<PoNetInputException>(() => PathfinderDataset.Load(dir.Path));
        Assert.Contains("3 images", e.Message);
        Assert.Contains("2 labels", e.Message);
    }

    [Fact]
    public void PreviewIsAValidPng()
    {
        using var dir = new TempDir();
        var data = Generator.Generate(10, seed: 2);
        string path = Path.Combine(dir.Path, "preview.png");
        PathfinderPreview.Write(path, data, count: 10, scale: 2);

        byte[] png = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        var chunks = new List<(string Type, byte[] Data)>();
        for (int offset = 8; offset < png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            var typeAndData = png.AsSpan(offset + 4, 4 + length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset + 8 + length));
            Assert.Equal(ReferenceCrc(typeAndData), crc);
            chunks.Add((System.Text.Encoding.ASCII.GetString(typeAndData[..4]), typeAndData[4..].ToArray()));
            offset += 12 + length;
        }
        Assert.Equal(["IHDR", "IDAT", "IEND"], chunks.Select(c => c.Type));

        var header = chunks[0].Data;
        int width = BinaryPrimitives.ReadInt32BigEndian(header), height = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
        // 8 tiles across of 64 + 2·3 border px and 9 gaps of 4 px; 2 rows and 3 gaps down, then the
        // colour key: two lines of 20 px (7-px glyphs and 3 px spacing, doubled) and a gap.
        int gridHeight = 2 * 70 + 3 * 4;
        Assert.Equal((8 * 70 + 9 * 4, gridHeight + 2 * 20 + 4), (width, height));
        Assert.Equal(new byte[] { 8, 2, 0, 0, 0 }, header[8..]);

        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress))
            zlib.CopyTo(inflated);
        byte[] raw = inflated.ToArray();
        Assert.Equal(height * (1 + 3 * width), raw.Length);
        // The frame of the first tile (top-left corner at (4, 4)) is green for label 1, red for 0.
        int o = 4 * (1 + 3 * width) + 1 + 3 * 4;
        Assert.Equal(data.Labels[0] == 1 ? (40, 200, 40) : (220, 40, 40), ((int)raw[o], (int)raw[o + 1], (int)raw[o + 2]));

        // The key under the grid: a green swatch and light text on the first line, red and text on the second.
        (int, int, int) Pixel(int x, int y) { int p = y * (1 + 3 * width) + 1 + 3 * x; return (raw[p], raw[p + 1], raw[p + 2]); }
        Assert.Equal((40, 200, 40), Pixel(4 + 7, gridHeight + 7));
        Assert.Equal((220, 40, 40), Pixel(4 + 7, gridHeight + 20 + 7));
        foreach (int line in new[] { 0, 1 })
        {
            int textPixels = 0;
            for (int y = gridHeight + 20 * line; y < gridHeight + 20 * line + 14; y++)
                for (int x = 4 + 14; x < width; x++)
                    if (Pixel(x, y) == (230, 230, 230)) textPixels++;
            Assert.True(textPixels > 100, $"key line {line}: {textPixels} text pixels");
        }
    }

    [Fact]
    public void PreviewKeyIsWrittenInTheBuiltInFont()
    {
        // Every character of the key has a glyph (Draw throws on one it lacks), and the two lines differ.
        var image = new PathfinderPreview.RgbImage(400, 20);
        PathfinderPreview.BitmapFont.Draw(image, PathfinderPreview.ConnectedText, 0, 0, 1, (255, 255, 255));
        var connected = (byte[])image.Pixels.Clone();
        image.Fill(0, 0, 400, 20, (0, 0, 0));
        PathfinderPreview.BitmapFont.Draw(image, PathfinderPreview.NotConnectedText, 0, 0, 1, (255, 255, 255));
        Assert.NotEqual(connected, image.Pixels);
        Assert.Throws<ArgumentException>(() => PathfinderPreview.BitmapFont.Draw(image, "?", 0, 0, 1, (255, 255, 255)));
    }

    /// <summary>Bitwise CRC-32, independent of the table-driven one under test.</summary>
    private static uint ReferenceCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc >> 1) ^ (0xEDB88320 & (0 - (crc & 1)));
        }
        return ~crc;
    }

    [Fact]
    public void Crc32MatchesTheStandardCheckValue() =>
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
}
