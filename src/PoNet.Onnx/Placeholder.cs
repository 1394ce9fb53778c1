namespace PoNet.Onnx;
internal static class Placeholder { }
