namespace PoNet.Lra.Data;

/// <summary>
/// A PNG contact sheet of the first images of a Pathfinder data set, scaled up, each framed in
/// green (label 1: markers connected) or red (label 0), so a reader can check the labels by eye.
/// </summary>
public static class PathfinderPreview
{
    private const int Border = 3;
    private const int Gap = 4;
    private const int Columns = 8;

    public static void Write(string path, PathfinderDataset data, int count = 16, int scale = 4)
    {
        count = Math.Min(count, data.Count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        int columns = Math.Min(Columns, count), rows = (count + columns - 1) / columns;
        int tile = data.Side * scale + 2 * Border;
        int width = columns * tile + (columns + 1) * Gap, height = rows * tile + (rows + 1) * Gap;
        var rgb = new byte[width * height * 3];
        Array.Fill(rgb, (byte)64); // dark grey background

        for (int n = 0; n < count; n++)
        {
            int left = Gap + n % columns * (tile + Gap), top = Gap + n / columns * (tile + Gap);
            (byte R, byte G, byte B) frame = data.Labels[n] == 1 ? ((byte)40, (byte)200, (byte)40) : ((byte)220, (byte)40, (byte)40);
            var image = data.Image(n);
            for (int y = 0; y < tile; y++)
                for (int x = 0; x < tile; x++)
                {
                    int ix = x - Border, iy = y - Border;
                    bool inside = ix >= 0 && iy >= 0 && ix < data.Side * scale && iy < data.Side * scale;
                    byte grey = inside ? image[iy / scale * data.Side + ix / scale] : (byte)0;
                    int o = ((top + y) * width + left + x) * 3;
                    (rgb[o], rgb[o + 1], rgb[o + 2]) = inside ? (grey, grey, grey) : frame;
                }
        }
        PngWriter.WriteRgb(path, width, height, rgb);
    }
}
