using Google.Protobuf;
using Onnx;

namespace PoNet.Export;

/// <summary>
/// A thin builder over the official ONNX protobuf classes (OnnxSharp's generated <c>Onnx.*</c>):
/// nodes get unique output names, weights become float initializers, small constants int64 or float
/// initializers. Nothing here knows about PoNet.
/// </summary>
internal sealed class OnnxGraph
{
    readonly Dictionary<string, int> counters = [];
    readonly Dictionary<string, string> constants = [];

    public GraphProto Graph { get; } = new() { Name = "ponet" };

    /// <summary>Where nodes go: the main graph, or the body being built by <see cref="Subgraph"/>.</summary>
    GraphProto current;

    public OnnxGraph() => current = Graph;

    /// <summary>
    /// Builds a subgraph (a Loop body): nodes added inside <paramref name="build"/> go to it; constants
    /// and weights stay in the main graph, which the body sees as outer scope.
    /// </summary>
    public GraphProto Subgraph(string name, Action<GraphProto> build)
    {
        var saved = current;
        var sub = new GraphProto { Name = Fresh(name) };
        current = sub;
        try
        {
            build(sub);
        }
        finally
        {
            current = saved;
        }
        return sub;
    }

    /// <summary>Total bytes of float weights added with <see cref="Weight"/>.</summary>
    public long WeightBytes { get; private set; }

    string Fresh(string hint)
    {
        counters.TryGetValue(hint, out var n);
        counters[hint] = n + 1;
        return n == 0 ? hint : $"{hint}_{n}";
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Node(string op, IEnumerable<string> inputs, string? name = null, params AttributeProto[] attributes) =>
        Nodes(op, inputs, 1, name, attributes)[0];

    public string[] Nodes(string op, IEnumerable<string> inputs, int outputs, string? name = null, params AttributeProto[] attributes)
    {
        var nodeName = Fresh(name ?? op);
        var node = new NodeProto { OpType = op, Name = nodeName };
        node.Input.AddRange(inputs);
        var outs = Enumerable.Range(0, outputs).Select(i => outputs == 1 ? nodeName : $"{nodeName}:{i}").ToArray();
        node.Output.AddRange(outs);
        node.Attribute.AddRange(attributes);
        current.Node.Add(node);
        return outs;
    }

    /// <summary>A node whose single output gets a fixed name (a graph output).</summary>
    public void NamedNode(string op, IEnumerable<string> inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = Fresh(output) };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        current.Node.Add(node);
    }

    readonly HashSet<string> weightNames = [];

    /// <summary>A float initializer; adding the same name again returns the first one.</summary>
    public string Weight(string name, float[] data, params long[] dims)
    {
        if (!weightNames.Add(name)) return name;
        if (data.Length != dims.Aggregate(1L, (a, b) => a * b))
            throw new ArgumentException($"{name}: {data.Length} values for shape [{string.Join(", ", dims)}]");
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        var bytes = new byte[data.Length * sizeof(float)];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian");
        t.RawData = ByteString.CopyFrom(bytes);
        Graph.Initializer.Add(t);
        WeightBytes += bytes.Length;
        return name;
    }

    /// <summary>An int64 constant (a 1-D tensor, or a scalar when <paramref name="scalar"/>), shared by value.</summary>
    public string Int64(long[] values, bool scalar = false)
    {
        var key = $"i64{(scalar ? "s" : "")}:{string.Join(",", values)}";
        if (constants.TryGetValue(key, out var existing)) return existing;
        var name = Fresh(scalar ? $"const_i64_{values[0]}" : "const_i64_vec");
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        if (!scalar) t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        Graph.Initializer.Add(t);
        constants[key] = name;
        return name;
    }

    public string Int64(params long[] values) => Int64(values, scalar: false);

    public string Int64Scalar(long value) => Int64([value], scalar: true);

    /// <summary>A float scalar constant, shared by value.</summary>
    public string Float(float value)
    {
        var key = $"f32:{BitConverter.SingleToInt32Bits(value)}";
        if (constants.TryGetValue(key, out var existing)) return existing;
        var name = Fresh("const_f32");
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.FloatData.Add(value);
        Graph.Initializer.Add(t);
        constants[key] = name;
        return name;
    }

    public static AttributeProto Attr(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attr(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attr(string name, long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Attr(string name, GraphProto graph) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = graph };

    /// <summary>A tensor value of element type <paramref name="type"/> whose shape is left to the runtime (Loop bodies).</summary>
    public static ValueInfoProto AnyShape(string name, TensorProto.Types.DataType type) => new()
    {
        Name = name,
        Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type } },
    };

    /// <summary>A tensor value (input or output) of element type <paramref name="type"/> and symbolic or fixed dims.</summary>
    public static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string s ? new TensorShapeProto.Types.Dimension { DimParam = s }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
