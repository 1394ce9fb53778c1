namespace PoNet.Lra.Data;

/// <summary>
/// Generated Pathfinder images and labels (1 = the markers are connected). Saved as two IDX files,
/// <see cref="ImagesFile"/> (N×side×side unsigned bytes) and <see cref="LabelsFile"/> (N bytes), so
/// any MNIST reader opens them too. Tokens are the grey values 0..255; token 0 is a black pixel, not
/// padding. The split is by position, 80/10/10 (LRA: 160k/20k/20k of 200k).
/// </summary>
public sealed class PathfinderDataset
{
    public const string ImagesFile = "pathfinder-images-idx3-ubyte";
    public const string LabelsFile = "pathfinder-labels-idx1-ubyte";

    public PathfinderDataset(int side, byte[] pixels, byte[] labels)
    {
        if (pixels.LongLength != (long)labels.Length * side * side)
            throw new ArgumentException($"{pixels.LongLength} pixels is not {labels.Length} images of {side}×{side}");
        Side = side;
        Pixels = pixels;
        Labels = labels;
    }

    public int Side { get; }
    public byte[] Pixels { get; }
    public byte[] Labels { get; }
    public int Count => Labels.Length;

    public ReadOnlySpan<byte> Image(int index) => Pixels.AsSpan(index * Side * Side, Side * Side);

    public LraSplit<LraExample> ToSplit()
    {
        int train = Count * 8 / 10, dev = Count / 10;
        var examples = Enumerable.Range(0, Count)
            .Select(i => new LraExample(Array.ConvertAll(Image(i).ToArray(), b => (int)b), Labels[i]))
            .ToList();
        return new LraSplit<LraExample>(examples[..train], examples[train..(train + dev)], examples[(train + dev)..]);
    }

    public void Save(string folder)
    {
        IdxFile.WriteImages(Path.Combine(folder, ImagesFile), new IdxImages(Count, Side, Side, Pixels));
        IdxFile.WriteLabels(Path.Combine(folder, LabelsFile), Labels);
    }

    public static PathfinderDataset Load(string folder)
    {
        string imagesPath = Path.Combine(folder, ImagesFile), labelsPath = Path.Combine(folder, LabelsFile);
        var images = IdxFile.ReadImages(imagesPath);
        byte[] labels = IdxFile.ReadLabels(labelsPath);
        if (images.Rows != images.Columns)
            throw new PoNetInputException($"{imagesPath}: images are {images.Rows}×{images.Columns}, expected square Pathfinder images");
        if (images.Count != labels.Length)
            throw new PoNetInputException($"{imagesPath} has {images.Count} images but {labelsPath} has {labels.Length} labels; expected one label per image");
        if (labels.Any(l => l > 1))
            throw new PoNetInputException($"{labelsPath}: expected labels 0 or 1, found {labels.First(l => l > 1)}");
        return new PathfinderDataset(images.Rows, images.Pixels, labels);
    }
}
