namespace PoNet.Lra.Data;

/// <summary>Distances between points and segments in the plane.</summary>
internal static class Geometry
{
    public static double PointSegmentDistanceSquared(double px, double py, double ax, double ay, double bx, double by)
    {
        double vx = bx - ax, vy = by - ay;
        double lengthSquared = vx * vx + vy * vy;
        double t = lengthSquared > 0 ? Math.Clamp(((px - ax) * vx + (py - ay) * vy) / lengthSquared, 0, 1) : 0;
        double dx = px - (ax + t * vx), dy = py - (ay + t * vy);
        return dx * dx + dy * dy;
    }

    public static double SegmentDistanceSquared(double ax, double ay, double bx, double by,
        double cx, double cy, double dx, double dy)
    {
        if (Crosses(ax, ay, bx, by, cx, cy, dx, dy))
            return 0;
        return Math.Min(
            Math.Min(PointSegmentDistanceSquared(ax, ay, cx, cy, dx, dy), PointSegmentDistanceSquared(bx, by, cx, cy, dx, dy)),
            Math.Min(PointSegmentDistanceSquared(cx, cy, ax, ay, bx, by), PointSegmentDistanceSquared(dx, dy, ax, ay, bx, by)));
    }

    // Proper crossings only; touching and collinear cases are caught by the endpoint distances.
    private static bool Crosses(double ax, double ay, double bx, double by, double cx, double cy, double dx, double dy)
    {
        double d1 = Cross(cx, cy, dx, dy, ax, ay), d2 = Cross(cx, cy, dx, dy, bx, by);
        double d3 = Cross(ax, ay, bx, by, cx, cy), d4 = Cross(ax, ay, bx, by, dx, dy);
        return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0));
    }

    private static double Cross(double ax, double ay, double bx, double by, double px, double py) =>
        (bx - ax) * (py - ay) - (by - ay) * (px - ax);
}
