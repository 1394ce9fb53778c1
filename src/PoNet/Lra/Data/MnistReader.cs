namespace PoNet.Lra.Data;

/// <summary>
/// MNIST-layout folders (Fashion-MNIST, the reachable stand-in for the LRA Image task's CIFAR-10):
/// <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>, <c>t10k-images-idx3-ubyte</c>,
/// <c>t10k-labels-idx1-ubyte</c>, each optionally <c>.gz</c>. Tokens are the grey values 0..255 row
/// by row (token 0 is a black pixel, not padding: images are never padded in a batch). LRA
/// evaluated on the test set during training, so Dev is Test.
/// </summary>
public static class MnistReader
{
    /// <param name="padTo">
    /// Side of the square to centre each image in with black pixels: 32 turns Fashion-MNIST's
    /// 28×28 into 1024 tokens like CIFAR-10; 0 keeps the original size.
    /// </param>
    public static LraSplit<LraExample> ReadFolder(string folder, int padTo = 32)
    {
        var train = Read(Find(folder, "train-images-idx3-ubyte"), Find(folder, "train-labels-idx1-ubyte"), padTo);
        var test = Read(Find(folder, "t10k-images-idx3-ubyte"), Find(folder, "t10k-labels-idx1-ubyte"), padTo);
        return new LraSplit<LraExample>(train, test, test);
    }

    public static List<LraExample> Read(string imagesPath, string labelsPath, int padTo = 32)
    {
        var images = IdxFile.ReadImages(imagesPath);
        byte[] labels = IdxFile.ReadLabels(labelsPath);
        if (images.Count != labels.Length)
            throw new PoNetInputException($"{imagesPath} has {images.Count} images but {labelsPath} has {labels.Length} labels; expected one label per image");
        if (padTo > 0 && (images.Rows > padTo || images.Columns > padTo))
            throw new PoNetInputException($"{imagesPath}: images are {images.Rows}×{images.Columns}, larger than the {padTo}×{padTo} to pad to");
        int rows = padTo > 0 ? padTo : images.Rows, columns = padTo > 0 ? padTo : images.Columns;
        int top = (rows - images.Rows) / 2, left = (columns - images.Columns) / 2;

        var examples = new List<LraExample>(images.Count);
        int imageSize = images.Rows * images.Columns;
        for (int n = 0; n < images.Count; n++)
        {
            if (labels[n] > 9)
                throw new PoNetInputException($"{labelsPath}: label {n} is {labels[n]}, expected a class 0-9");
            var tokens = new int[rows * columns];
            var pixels = images.Pixels.AsSpan(n * imageSize, imageSize);
            for (int r = 0; r < images.Rows; r++)
                for (int c = 0; c < images.Columns; c++)
                    tokens[(r + top) * columns + c + left] = pixels[r * images.Columns + c];
            examples.Add(new LraExample(tokens, labels[n]));
        }
        return examples;
    }

    private static string Find(string folder, string name)
    {
        foreach (string candidate in new[] { name, name + ".gz" })
        {
            string path = Path.Combine(folder, candidate);
            if (File.Exists(path))
                return path;
        }
        throw new PoNetInputException($"{folder}: expected {name} or {name}.gz (MNIST layout: train|t10k-images-idx3-ubyte, train|t10k-labels-idx1-ubyte)");
    }
}
