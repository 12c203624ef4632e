using System.Collections.Generic;
using System.Collections.Immutable;
using NetGen.Generators.Model;

namespace NetGen.Generators;

/// <summary>
/// NG0070–NG0074: a network declared as a detector's grid head (<c>[Network(Head = DetectionHead.Yolo,
/// BoxesPerCell = 2, Classes = 10, Grid = 8)]</c>) must end in a (B·(5 + classes), S, S) map of raw values, the layout
/// NetGen.Detection's YoloLoss and SsdLoss read (YOLO: tx, ty, tw, th, objectness, class logits per box; SSD: four
/// offsets, the background logit, class logits per default box — both 5 + classes values). The declaration carries
/// B, the classes and the grid, so each mismatch comes with the numbers that fit and fixes that write them.
/// </summary>
internal static class DetectionHeadRules
{
    public static void Check(NetworkSpec spec, ImmutableArray<int> shape, List<ShapeProblem> found)
    {
        if (spec.Head is not { } head) return;
        var layers = spec.Layers;
        int last = -1;
        for (int i = layers.Count - 1; i >= 0; i--)
            if (layers[i].Kind is not (LayerKind.Input or LayerKind.Unknown)) { last = i; break; }
        if (last < 0) return;
        string kind = head.Kind switch { 1 => "YOLO", 2 => "SSD", _ => "" };
        if (kind.Length == 0)
        {
            found.Add(new(Descriptors.CannotHonour, $"Head = {head.Kind} is not a DetectionHead: use DetectionHead.Yolo, DetectionHead.Ssd or DetectionHead.None.", -1) { Argument = "Head" });
            return;
        }
        if (head.BoxesPerCell < 1 || head.Classes < 1 || head.Grid < 0)
        {
            string argument = head.BoxesPerCell < 1 ? "BoxesPerCell" : head.Classes < 1 ? "Classes" : "Grid";
            found.Add(new(Descriptors.DetectionHeadSizes,
                $"Head = DetectionHead.{(head.Kind == 1 ? "Yolo" : "Ssd")} needs BoxesPerCell ≥ 1 and Classes ≥ 1 (and Grid ≥ 0, 0 for any) to check the head against the {kind} loss; " +
                $"{argument} is {(argument == "BoxesPerCell" ? head.BoxesPerCell : argument == "Classes" ? head.Classes : head.Grid)}: set it, e.g. BoxesPerCell = 2, Classes = 10.", -1) { Argument = argument });
            return;
        }
        string lastName = layers[last].AttributeName;
        int perBox = 5 + head.Classes, wanted = head.BoxesPerCell * perBox;
        string layout = head.Kind == 1 ? "tx, ty, tw, th, objectness and the class logits" : "four box offsets, the background logit and the class logits";

        if (IsActivation(layers[last].Kind))
            found.Add(new(Descriptors.DetectionHeadActivation,
                $"[{lastName}] ends a {kind} head, but the {kind} loss reads raw values ({layout}) and applies σ and softmax itself: remove [{lastName}].", last)
                { Fixes = ImmutableArray.Create(new ShapeFix($"Remove [{lastName}]", "remove")) });

        if (shape.Length != 3)
        {
            found.Add(new(Descriptors.DetectionHeadNotAMap,
                $"A {kind} head ends in a map of {head.BoxesPerCell}·(5 + {head.Classes}) = {wanted} channels over the grid, but {spec.ClassName} ends in {Shapes.FormatShape(shape)}: " +
                $"drop the Flatten/Dense layers at the end and finish with [Conv2D({wanted}, Kernel = 1)] on the last feature map.", last) { Related = "Head" });
            return;
        }
        int channels = shape[0], height = shape[1], width = shape[2];
        if (channels != wanted)
        {
            var fixes = ImmutableArray.CreateBuilder<ShapeFix>();
            fixes.Add(new ShapeFix($"Add [Conv2D({wanted}, Kernel = 1)] after [{lastName}]", $"insert-after:Conv2D({wanted}, Kernel = 1)"));
            if (channels % perBox == 0)
                fixes.Add(new ShapeFix($"Set BoxesPerCell = {channels / perBox} ({channels} = {channels / perBox}·(5 + {head.Classes}))", $"net:BoxesPerCell={channels / perBox}"));
            if (channels % head.BoxesPerCell == 0 && channels / head.BoxesPerCell > 5)
                fixes.Add(new ShapeFix($"Set Classes = {channels / head.BoxesPerCell - 5} ({channels} = {head.BoxesPerCell}·(5 + {channels / head.BoxesPerCell - 5}))", $"net:Classes={channels / head.BoxesPerCell - 5}"));
            found.Add(new(Descriptors.DetectionHeadChannels,
                $"A {kind} head with {head.BoxesPerCell} boxes per cell and {head.Classes} classes needs {head.BoxesPerCell}·(5 + {head.Classes}) = {wanted} channels ({layout} per box), " +
                $"but [{lastName}] gives {channels}: end with [Conv2D({wanted}, Kernel = 1)], or declare the boxes and classes the {channels} channels hold.", last)
                { Related = "BoxesPerCell", Fixes = fixes.ToImmutable() });
        }
        if (height != width)
            found.Add(new(Descriptors.DetectionGridMismatch,
                $"A {kind} head's grid is square (S × S cells, each anchor at a cell centre), but [{lastName}] gives a {height}×{width} map: give the input equal height and width, or pool both sides alike.", last));
        else if (head.Grid > 0 && head.Grid != height)
        {
            int factor = head.Grid > 0 && height % head.Grid == 0 ? height / head.Grid : 0;
            var fixes = ImmutableArray.CreateBuilder<ShapeFix>();
            fixes.Add(new ShapeFix($"Set Grid = {height}", $"net:Grid={height}"));
            if (factor > 1) fixes.Add(new ShapeFix($"Add [MaxPool({factor})] before [{lastName}]", $"insert-before:MaxPool({factor})"));
            found.Add(new(Descriptors.DetectionGridMismatch,
                $"Grid = {head.Grid} declares a {head.Grid}×{head.Grid} grid of anchors, but [{lastName}] gives a {height}×{width} map: the loss would place boxes in cells that do not exist. " +
                $"Set Grid = {height}, or {(factor > 1 ? $"pool by {factor} before the head" : $"change the strides so the map is {head.Grid}×{head.Grid}")}.", last)
                { Related = "Grid", Fixes = fixes.ToImmutable() });
        }
    }

    private static bool IsActivation(LayerKind kind) => kind != LayerKind.Identity && Shapes.IsActivation(kind);
}
