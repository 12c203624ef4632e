using System.Buffers.Binary;
using Google.Protobuf;
using P = global::Onnx;

namespace NetGen.Deploy.Tests.Onnx;

/// <summary>Test-side transforms of exported models.</summary>
internal static class OnnxModels
{
    private const int Float = (int)P.TensorProto.Types.DataType.Float, Double = (int)P.TensorProto.Types.DataType.Double;

    /// <summary>The same graph with every double tensor, value type and Cast target made float.</summary>
    public static byte[] ToFloat(byte[] bytes)
    {
        var model = P.ModelProto.Parser.ParseFrom(bytes);
        var graph = model.Graph;
        foreach (var value in graph.Input.Concat(graph.Output).Concat(graph.ValueInfo))
            if (value.Type.TensorType.ElemType == Double) value.Type.TensorType.ElemType = Float;
        foreach (var tensor in graph.Initializer) Narrow(tensor);
        foreach (var node in graph.Node)
            foreach (var attribute in node.Attribute)
            {
                if (attribute.T is not null) Narrow(attribute.T);
                if (node.OpType == "Cast" && attribute.Name == "to" && attribute.I == Double) attribute.I = Float;
            }
        return model.ToByteArray();
    }

    private static void Narrow(P.TensorProto tensor)
    {
        if (tensor.DataType != Double) return;
        tensor.DataType = Float;
        if (tensor.HasRawData && tensor.RawData.Length > 0)
        {
            var raw = tensor.RawData.Span;
            var narrowed = new byte[raw.Length / 2];
            for (int i = 0; i < raw.Length / 8; i++)
                BinaryPrimitives.WriteSingleLittleEndian(narrowed.AsSpan(4 * i), (float)BinaryPrimitives.ReadDoubleLittleEndian(raw.Slice(8 * i)));
            tensor.RawData = ByteString.CopyFrom(narrowed);
        }
        else
        {
            var values = tensor.DoubleData.ToArray();
            tensor.DoubleData.Clear();
            tensor.FloatData.Add(values.Select(v => (float)v));
        }
    }
}
