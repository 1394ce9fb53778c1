using System.Runtime.InteropServices;
using PoNet.Randomness;

namespace PoNet.Lra.Data;

/// <summary>Sizes of a Pathfinder image; the defaults are the LRA Pathfinder-32 hardest split.</summary>
public sealed record PathfinderOptions
{
    public int ImageSize { get; init; } = 32;
    /// <summary>Paddles per target snake ("contour length" 14: the hardest split).</summary>
    public int ContourLength { get; init; } = 14;
    public int DistractorSnakes { get; init; } = 5;
    public int DistractorLength { get; init; } = 4;
}

/// <summary>One paddle: a straight dash from (X0, Y0) to (X1, Y1) in pixel-centre coordinates.
/// Snake 0 and 1 are the targets, 2.. the distractors, -1 single-paddle clutter.</summary>
internal readonly record struct Paddle(double X0, double Y0, double X1, double Y1, int Snake);

/// <summary>A generated image with its geometry, for tests that check what the pixels mean.</summary>
internal sealed record PathfinderSample(byte[] Pixels, int Label, Paddle[] Paddles,
    (double X, double Y) MarkerA, (double X, double Y) MarkerB, int Restarts);

/// <summary>
/// Pathfinder images after the "snakes" generator of drewlinsley/pathfinder (snakes2.py) with the
/// LRA Pathfinder-32 settings of docs/MODEL.md §7. Per image: draw the label; grow two target snakes of
/// <see cref="PathfinderOptions.ContourLength"/> paddles (2 px long, 1 px gaps at each end, so
/// 2 px between dashes) whose first tails are 7 px apart; then
/// <see cref="PathfinderOptions.DistractorSnakes"/> distractor snakes; then single-paddle clutter
/// until little free area remains; then two marker discs (radius 1.5): one on the first tail of a
/// target snake, the other on the far end of the same snake (label 1) or of the other one (label 0).
/// </summary>
/// <remarks>
/// Growth: the next paddle starts on a circle of radius length + margin = 3 px around the pivot
/// just beyond the previous paddle (its end + margin). The directions are those of the pixels on
/// that circle; each is weighted max(cos(min(|Δθ|·continuity, π/2)), 0)² (continuity 1) by its
/// turn from the previous direction, and 0 if its end pixel is not free. A sampled paddle must keep
/// <see cref="Separation"/> px from every paddle but its predecessor (3 tries, as the original's
/// max_paddle_retrial 2), else the snake fails: a target failure restarts the image, a distractor
/// is retried up to 5 times and otherwise left out. Clutter stops when under 1% of pixels are free
/// or 48 placements in a row fail (the original gives each of its ~700 clutter paddles 3 tries
/// against an exact free-position map; random tries against the same rule saturate alike).
/// Differences from the original, for simplicity and speed: positions are floating-point, so the
/// dash gap is exactly 2 px; overlap is a distance test instead of the original's blurred masks;
/// every paddle is drawn as a 1 px wide capsule, 2×2 supersampled ("drawn at 2×, downsampled"),
/// which is about what the original's 1-subpixel line at 2× becomes after its Lanczos downsampling.
/// Intensities follow the original: paths at contrast 2 × 0.75 = 1.5, markers 1.0, scaled so 1.5 is
/// 255, so paths reach 255 and markers 170. Every image has its own random stream from
/// (seed, index): data sets are the same for a seed whatever the thread count. (The direction
/// tables use the C runtime's cos/sin/atan2, so another OS could in rare cases round one weight
/// differently and draw a different image.)
/// </remarks>
public sealed class PathfinderGenerator(PathfinderOptions? options = null)
{
    private const double PaddleLength = 2;
    private const double Margin = 1;
    private const double Continuity = 1;
    /// <summary>Closest approach of two paddles that are not neighbours on a snake; more than the 2 px dash gap.</summary>
    internal const double Separation = 2.5;
    private const double SeedDistance = 7;
    private const double MarkerRadius = 1.5;
    private const double PathContrast = 1.5;
    private const int Padding = 1;
    private const int PaddleTries = 3;
    private const int DistractorTries = 5;
    private const int ClutterFailuresToStop = 48;
    private const double StopFreeFraction = 0.01;

    public PathfinderOptions Options { get; } = options ?? new PathfinderOptions();

    /// <summary><paramref name="count"/> images, about half of them positive.</summary>
    public PathfinderDataset Generate(int count, long seed, IProgress<string>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int side = Options.ImageSize, pixels = side * side;
        var images = new byte[(long)count * pixels];
        var labels = new byte[count];
        const int block = 10_000;
        for (int start = 0; start < count; start += block)
        {
            int end = Math.Min(count, start + block);
            Parallel.For(start, end, () => new Canvas(Options), (i, _, canvas) =>
            {
                var sample = canvas.Draw(SeededRandom.ForItem(seed, i), keepGeometry: false);
                sample.Pixels.CopyTo(images, (long)i * pixels);
                labels[i] = (byte)sample.Label;
                return canvas;
            }, _ => { });
            progress?.Report($"pathfinder: {end}/{count} images");
        }
        return new PathfinderDataset(side, images, labels);
    }

    /// <summary>Image <paramref name="index"/> of the data set for <paramref name="seed"/>, with its geometry.</summary>
    internal PathfinderSample Sample(long seed, long index) =>
        new Canvas(Options).Draw(SeededRandom.ForItem(seed, index), keepGeometry: true);

    /// <summary>The state of one image being drawn; reused across the images of one thread.</summary>
    private sealed class Canvas
    {
        private readonly PathfinderOptions _options;
        private readonly int _side;
        private readonly bool[] _blocked;
        private readonly bool[] _blockedSnapshot;
        // The blocked map of an empty image: only the padding border.
        private readonly bool[] _emptyBlocked;
        private readonly int _emptyFree;
        private readonly float[] _intensity;
        private readonly List<Paddle> _paddles = [];
        // Bounding boxes of the paddles grown by the separation, for a cheap first rejection.
        private readonly List<(double MinX, double MinY, double MaxX, double MaxY)> _boxes = [];
        private readonly (double Dx, double Dy, double Angle)[] _directions;
        // The continuity weight of each direction after each heading (a seed's whole degree, or one
        // of the directions): growth looks weights up instead of taking cosines.
        private readonly double[] _turnWeights;
        private readonly double[] _weights;
        private readonly (double Cos, double Sin)[] _headingUnits;
        private int _free;
        private SeededRandom _random = null!;

        public Canvas(PathfinderOptions options)
        {
            _options = options;
            _side = options.ImageSize;
            _blocked = new bool[_side * _side];
            _blockedSnapshot = new bool[_side * _side];
            _emptyBlocked = new bool[_side * _side];
            for (int y = 0; y < _side; y++)
                for (int x = 0; x < _side; x++)
                    _emptyBlocked[y * _side + x] = !Inside(x, y);
            _emptyFree = _emptyBlocked.Count(b => !b);
            _intensity = new float[_side * _side];
            _directions = CircleDirections(PaddleLength + Margin);
            _weights = new double[_directions.Length];
            _headingUnits = Enumerable.Range(0, 360 + _directions.Length)
                .Select(h => (Math.Cos(HeadingAngle(h)), Math.Sin(HeadingAngle(h)))).ToArray();
            _turnWeights = new double[(360 + _directions.Length) * _directions.Length];
            for (int heading = 0; heading < 360 + _directions.Length; heading++)
                for (int k = 0; k < _directions.Length; k++)
                    _turnWeights[heading * _directions.Length + k] = TurnWeight(HeadingAngle(heading), _directions[k].Angle);
        }

        /// <summary>The unit directions towards the pixels on a circle of the given radius.</summary>
        private static (double, double, double)[] CircleDirections(double radius)
        {
            var offsets = new SortedSet<(int, int)>();
            for (int degree = 0; degree < 360; degree++)
            {
                double a = degree * Math.PI / 180;
                offsets.Add(((int)Math.Round(radius * Math.Cos(a)), (int)Math.Round(radius * Math.Sin(a))));
            }
            return offsets.Select(o =>
            {
                double angle = Math.Atan2(o.Item2, o.Item1), length = Math.Sqrt(o.Item1 * o.Item1 + o.Item2 * o.Item2);
                return (o.Item1 / length, o.Item2 / length, angle);
            }).OrderBy(d => d.angle).ToArray();
        }

        /// <summary>max(cos(min(|Δθ|·continuity, π/2)), 0)², Δθ the turn from one direction to the other.</summary>
        private static double TurnWeight(double from, double to)
        {
            double turn = Math.Abs(to - from);
            turn = Math.Min(turn, 2 * Math.PI - turn);
            double w = Math.Max(Math.Cos(Math.Min(turn * Continuity, Math.PI / 2)), 0);
            return w * w;
        }

        /// <summary>Headings 0..359 are a seed's whole degrees -180..179, then come the directions.</summary>
        private double HeadingAngle(int heading) =>
            heading < 360 ? (heading - 180) * Math.PI / 180 : _directions[heading - 360].Angle;

        public PathfinderSample Draw(SeededRandom random, bool keepGeometry)
        {
            _random = random;
            int label = random.Next(2);
            int restarts = 0;
            (double X, double Y)[] origins, ends;
            while (!TryTargetSnakes(out origins, out ends))
            {
                if (++restarts > 10_000)
                    throw new InvalidOperationException($"no two target snakes of {_options.ContourLength} paddles fit a {_side}×{_side} image");
            }

            for (int s = 0; s < _options.DistractorSnakes && FreeFraction >= StopFreeFraction; s++)
                for (int attempt = 0; attempt < DistractorTries; attempt++)
                    if (TryDistractor(_options.DistractorLength, snake: 2 + s))
                        break;

            for (int failures = 0; failures < ClutterFailuresToStop && FreeFraction >= StopFreeFraction;)
                failures = TrySeed(snake: -1, out _) ? 0 : failures + 1;

            int origin = random.Next(2);
            var markerA = origins[origin];
            var markerB = ends[label == 1 ? origin : 1 - origin];
            markerB = (Math.Round(markerB.X), Math.Round(markerB.Y));
            byte[] pixels = Render(markerA, markerB);
            return new PathfinderSample(pixels, label, keepGeometry ? [.. _paddles] : [], markerA, markerB, restarts);
        }

        private double FreeFraction => (double)_free / (_side * _side);

        private void Clear()
        {
            _paddles.Clear();
            _boxes.Clear();
            Array.Copy(_emptyBlocked, _blocked, _blocked.Length);
            _free = _emptyFree;
        }

        private bool Inside(double x, double y) =>
            x >= Padding && y >= Padding && x <= _side - 1 - Padding && y <= _side - 1 - Padding;

        /// <summary>Both target snakes, grown in turns from seeds near the centre, 7 px apart.</summary>
        private bool TryTargetSnakes(out (double X, double Y)[] origins, out (double X, double Y)[] ends)
        {
            Clear();
            origins = new (double, double)[2];
            ends = new (double, double)[2];
            var snakes = new Snake[2];

            // The first tail keeps 2 × seed distance from every edge, as the original's seed mask.
            int low = (int)(2 * SeedDistance), high = _side - (int)(2 * SeedDistance);
            if (high <= low)
                (low, high) = (_side / 2, _side / 2 + 1);
            int tx = low + _random.Next(high - low), ty = low + _random.Next(high - low);
            if (!TryPlaceSeed(tx, ty, RandomHeading(), snake: 0, out snakes[0]))
                return false;
            origins[0] = (tx, ty);

            bool placed = false;
            for (int trial = 0; trial < PaddleTries && !placed; trial++)
            {
                var (cos, sin) = _headingUnits[RandomHeading()];
                int x = (int)Math.Round(tx + SeedDistance * cos), y = (int)Math.Round(ty + SeedDistance * sin);
                placed = TryPlaceSeed(x, y, RandomHeading(), snake: 1, out snakes[1]);
                origins[1] = (x, y);
            }
            if (!placed)
                return false;

            for (int paddle = 1; paddle < _options.ContourLength; paddle++)
                for (int s = 0; s < 2; s++)
                    if (!TryExtend(ref snakes[s]))
                        return false;
            for (int s = 0; s < 2; s++)
            {
                var last = _paddles[snakes[s].Last];
                ends[s] = (last.X1, last.Y1);
            }
            return true;
        }

        private bool TryDistractor(int length, int snake)
        {
            Array.Copy(_blocked, _blockedSnapshot, _blocked.Length);
            int free = _free, paddles = _paddles.Count;
            bool grown = TrySeed(snake, out var state);
            for (int i = 1; i < length && grown; i++)
                grown = TryExtend(ref state);
            if (grown)
                return true;
            Array.Copy(_blockedSnapshot, _blocked, _blocked.Length);
            _free = free;
            _paddles.RemoveRange(paddles, _paddles.Count - paddles);
            _boxes.RemoveRange(paddles, _boxes.Count - paddles);
            return false;
        }

        /// <summary>A first paddle from a random free pixel in a random direction (3 tries).</summary>
        private bool TrySeed(int snake, out Snake state)
        {
            state = default;
            for (int trial = 0; trial < PaddleTries; trial++)
            {
                int pixel = RandomFreePixel();
                if (pixel < 0)
                    return false;
                if (TryPlaceSeed(pixel % _side, pixel / _side, RandomHeading(), snake, out state))
                    return true;
            }
            return false;
        }

        private bool TryPlaceSeed(int x, int y, int heading, int snake, out Snake state)
        {
            state = default;
            var (ux, uy) = _headingUnits[heading];
            double hx = x + PaddleLength * ux, hy = y + PaddleLength * uy;
            if (!Inside(x, y) || !Inside(hx, hy) || !IsClear(x, y, hx, hy, ignore: -1))
                return false;
            Commit(new Paddle(x, y, hx, hy, snake));
            state = new Snake(hx + Margin * ux, hy + Margin * uy, heading, _paddles.Count - 1);
            return true;
        }

        /// <summary>One more paddle on a circle around the snake's pivot, favouring small turns.</summary>
        private bool TryExtend(ref Snake snake)
        {
            const double radius = PaddleLength + Margin;
            double total = 0;
            int row = snake.Heading * _directions.Length;
            for (int k = 0; k < _directions.Length; k++)
            {
                double w = _turnWeights[row + k];
                if (w > 0)
                {
                    double hx = snake.X + radius * _directions[k].Dx, hy = snake.Y + radius * _directions[k].Dy;
                    if (!Inside(hx, hy) || _blocked[(int)(hy + 0.5) * _side + (int)(hx + 0.5)])
                        w = 0;
                }
                _weights[k] = w;
                total += w;
            }
            if (total < 1e-4)
                return false;

            for (int trial = 0; trial < PaddleTries; trial++)
            {
                double r = _random.NextDouble() * total;
                int k = 0;
                while (k < _directions.Length - 1 && (r -= _weights[k]) >= 0)
                    k++;
                if (_weights[k] == 0) // rounding ran past the last weighted direction
                    continue;
                var (dx, dy, _) = _directions[k];
                double tx = snake.X + Margin * dx, ty = snake.Y + Margin * dy;
                double hx = snake.X + radius * dx, hy = snake.Y + radius * dy;
                if (!Inside(tx, ty) || !IsClear(tx, ty, hx, hy, ignore: snake.Last))
                    continue;
                Commit(new Paddle(tx, ty, hx, hy, _paddles[snake.Last].Snake));
                snake = new Snake(hx + Margin * dx, hy + Margin * dy, 360 + k, _paddles.Count - 1);
                return true;
            }
            return false;
        }

        private int RandomHeading() => _random.Next(360);

        private int RandomFreePixel()
        {
            if (_free == 0)
                return -1;
            while (true)
            {
                int pixel = _random.Next(_blocked.Length);
                if (!_blocked[pixel])
                    return pixel;
            }
        }

        private bool IsClear(double ax, double ay, double bx, double by, int ignore)
        {
            double minX = Math.Min(ax, bx), maxX = Math.Max(ax, bx), minY = Math.Min(ay, by), maxY = Math.Max(ay, by);
            var boxes = CollectionsMarshal.AsSpan(_boxes);
            var paddles = CollectionsMarshal.AsSpan(_paddles);
            for (int i = 0; i < boxes.Length; i++)
            {
                ref readonly var box = ref boxes[i];
                if (box.MaxX < minX || box.MinX > maxX || box.MaxY < minY || box.MinY > maxY || i == ignore)
                    continue;
                ref readonly var p = ref paddles[i];
                if (Geometry.SegmentDistanceSquared(ax, ay, bx, by, p.X0, p.Y0, p.X1, p.Y1) < Separation * Separation)
                    return false;
            }
            return true;
        }

        private void Commit(Paddle paddle)
        {
            _paddles.Add(paddle);
            double minX = Math.Min(paddle.X0, paddle.X1) - Separation, maxX = Math.Max(paddle.X0, paddle.X1) + Separation;
            double minY = Math.Min(paddle.Y0, paddle.Y1) - Separation, maxY = Math.Max(paddle.Y0, paddle.Y1) + Separation;
            _boxes.Add((minX, minY, maxX, maxY));
            // A pixel nearer than the separation cannot start another paddle: it is no longer free.
            double vx = paddle.X1 - paddle.X0, vy = paddle.Y1 - paddle.Y0, inverseLength = 1 / (vx * vx + vy * vy);
            int xStart = Math.Max(0, (int)Math.Ceiling(minX)), xEnd = Math.Min(_side - 1, (int)maxX);
            for (int y = Math.Max(0, (int)Math.Ceiling(minY)); y <= Math.Min(_side - 1, (int)maxY); y++)
                for (int x = xStart; x <= xEnd; x++)
                {
                    int i = y * _side + x;
                    if (_blocked[i])
                        continue;
                    double px = x - paddle.X0, py = y - paddle.Y0;
                    double t = Math.Clamp((px * vx + py * vy) * inverseLength, 0, 1);
                    double dx = px - t * vx, dy = py - t * vy;
                    if (dx * dx + dy * dy < Separation * Separation)
                    {
                        _blocked[i] = true;
                        _free--;
                    }
                }
        }

        private byte[] Render((double X, double Y) markerA, (double X, double Y) markerB)
        {
            Array.Clear(_intensity);
            foreach (var p in _paddles)
                PaintPaddle(p);
            PaintMarker(markerA.X, markerA.Y);
            PaintMarker(markerB.X, markerB.Y);
            var pixels = new byte[_intensity.Length];
            for (int i = 0; i < pixels.Length; i++)
                pixels[i] = (byte)(255 * Math.Min(1.0, _intensity[i] / PathContrast) + 0.5);
            return pixels;
        }

        // Shapes are covered on 2×2 subpixels per pixel (drawn at 2×, then downsampled), times
        // their contrast, max-combined with what is there.
        private void PaintPaddle(Paddle p)
        {
            const double halfWidth = 0.5;
            double vx = p.X1 - p.X0, vy = p.Y1 - p.Y0, inverseLength = 1 / (vx * vx + vy * vy);
            int x0 = Math.Max(0, (int)Math.Floor(Math.Min(p.X0, p.X1)) - 1), x1 = Math.Min(_side - 1, (int)Math.Ceiling(Math.Max(p.X0, p.X1)) + 1);
            int y0 = Math.Max(0, (int)Math.Floor(Math.Min(p.Y0, p.Y1)) - 1), y1 = Math.Min(_side - 1, (int)Math.Ceiling(Math.Max(p.Y0, p.Y1)) + 1);
            for (int y = y0; y <= y1; y++)
                for (int x = x0; x <= x1; x++)
                {
                    int inside = 0;
                    for (int s = 0; s < 4; s++)
                    {
                        double px = x + SubpixelX[s] - p.X0, py = y + SubpixelY[s] - p.Y0;
                        double t = Math.Clamp((px * vx + py * vy) * inverseLength, 0, 1);
                        double dx = px - t * vx, dy = py - t * vy;
                        if (dx * dx + dy * dy <= halfWidth * halfWidth)
                            inside++;
                    }
                    if (inside > 0)
                        Raise(y * _side + x, PathContrast * inside / 4);
                }
        }

        private void PaintMarker(double mx, double my)
        {
            for (int y = Math.Max(0, (int)my - 2); y <= Math.Min(_side - 1, (int)my + 2); y++)
                for (int x = Math.Max(0, (int)mx - 2); x <= Math.Min(_side - 1, (int)mx + 2); x++)
                {
                    int inside = 0;
                    for (int s = 0; s < 4; s++)
                    {
                        double dx = x + SubpixelX[s] - mx, dy = y + SubpixelY[s] - my;
                        if (dx * dx + dy * dy <= MarkerRadius * MarkerRadius)
                            inside++;
                    }
                    Raise(y * _side + x, inside / 4.0);
                }
        }

        private static readonly double[] SubpixelX = [-0.25, 0.25, -0.25, 0.25];
        private static readonly double[] SubpixelY = [-0.25, -0.25, 0.25, 0.25];

        private void Raise(int pixel, double value)
        {
            if (value > _intensity[pixel])
                _intensity[pixel] = (float)value;
        }
    }

    /// <summary>A growing snake: the pivot its next paddle is placed around, its heading, its last paddle.</summary>
    private readonly record struct Snake(double X, double Y, int Heading, int Last);
}
