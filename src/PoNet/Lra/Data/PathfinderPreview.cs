namespace PoNet.Lra.Data;

/// <summary>
/// A PNG contact sheet of the first images of a Pathfinder data set, scaled up, each framed in
/// green (label 1: markers connected) or red (label 0), so a reader can check the labels by eye.
/// Below the images a key says so in the image itself: a green and a red swatch, each with its
/// meaning written in a small built-in bitmap font (the hand-written PNG encoder has no text).
/// </summary>
public static class PathfinderPreview
{
    private const int Border = 3;
    private const int Gap = 4;
    private const int Columns = 8;
    private const int TextScale = 2;

    internal static readonly (byte R, byte G, byte B) Connected = (40, 200, 40), NotConnected = (220, 40, 40);
    internal const string ConnectedText = "CONNECTED (LABEL 1)", NotConnectedText = "NOT CONNECTED (LABEL 0)";

    public static void Write(string path, PathfinderDataset data, int count = 16, int scale = 4)
    {
        count = Math.Min(count, data.Count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        int columns = Math.Min(Columns, count), rows = (count + columns - 1) / columns;
        int tile = data.Side * scale + 2 * Border;
        int lineHeight = (BitmapFont.Height + 3) * TextScale;
        int gridWidth = columns * tile + (columns + 1) * Gap, gridHeight = rows * tile + (rows + 1) * Gap;
        // The key: one line per colour, under the grid, at least as wide as its longest line.
        int swatch = BitmapFont.Height * TextScale;
        int keyWidth = Gap + swatch + 2 * TextScale + BitmapFont.Width(NotConnectedText) * TextScale + Gap;
        int width = Math.Max(gridWidth, keyWidth), height = gridHeight + 2 * lineHeight + Gap;
        var image = new RgbImage(width, height);
        image.Fill(0, 0, width, height, (64, 64, 64)); // dark grey background

        for (int n = 0; n < count; n++)
        {
            int left = Gap + n % columns * (tile + Gap), top = Gap + n / columns * (tile + Gap);
            var frame = data.Labels[n] == 1 ? Connected : NotConnected;
            image.Fill(left, top, tile, tile, frame);
            var pixels = data.Image(n);
            for (int y = 0; y < data.Side * scale; y++)
                for (int x = 0; x < data.Side * scale; x++)
                {
                    byte grey = pixels[y / scale * data.Side + x / scale];
                    image.Set(left + Border + x, top + Border + y, (grey, grey, grey));
                }
        }
        int keyTop = gridHeight;
        foreach (var (colour, text) in new[] { (Connected, ConnectedText), (NotConnected, NotConnectedText) })
        {
            image.Fill(Gap, keyTop, swatch, swatch, colour);
            BitmapFont.Draw(image, text, Gap + swatch + 2 * TextScale, keyTop, TextScale, (230, 230, 230));
            keyTop += lineHeight;
        }
        PngWriter.WriteRgb(path, width, height, image.Pixels);
    }

    internal sealed class RgbImage(int width, int height)
    {
        public int Width { get; } = width;
        public int Height { get; } = height;
        public byte[] Pixels { get; } = new byte[width * height * 3];

        public void Set(int x, int y, (byte R, byte G, byte B) c)
        {
            if (x < 0 || y < 0 || x >= Width || y >= Height) return;
            int o = (y * Width + x) * 3;
            (Pixels[o], Pixels[o + 1], Pixels[o + 2]) = c;
        }

        public void Fill(int left, int top, int w, int h, (byte R, byte G, byte B) c)
        {
            for (int y = top; y < top + h; y++)
                for (int x = left; x < left + w; x++)
                    Set(x, y, c);
        }
    }

    /// <summary>A 5×7 bitmap font with just the characters the key uses.</summary>
    internal static class BitmapFont
    {
        public const int Height = 7, GlyphWidth = 5, Advance = 6;

        static readonly Dictionary<char, string[]> Glyphs = new()
        {
            ['A'] = [".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
            ['B'] = ["####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."],
            ['C'] = [".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."],
            ['D'] = ["####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."],
            ['E'] = ["#####", "#....", "#....", "####.", "#....", "#....", "#####"],
            ['L'] = ["#....", "#....", "#....", "#....", "#....", "#....", "#####"],
            ['N'] = ["#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#", "#...#"],
            ['O'] = [".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
            ['T'] = ["#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."],
            ['0'] = [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
            ['1'] = ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
            ['('] = ["...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."],
            [')'] = [".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."],
            [' '] = [".....", ".....", ".....", ".....", ".....", ".....", "....."],
        };

        public static int Width(string text) => text.Length * Advance;

        public static void Draw(RgbImage image, string text, int left, int top, int scale, (byte R, byte G, byte B) colour)
        {
            for (int i = 0; i < text.Length; i++)
            {
                if (!Glyphs.TryGetValue(text[i], out var glyph))
                    throw new ArgumentException($"the preview font has no glyph for '{text[i]}'", nameof(text));
                for (int gy = 0; gy < Height; gy++)
                    for (int gx = 0; gx < GlyphWidth; gx++)
                        if (glyph[gy][gx] == '#')
                            image.Fill(left + (i * Advance + gx) * scale, top + gy * scale, scale, scale, colour);
            }
        }
    }
}
