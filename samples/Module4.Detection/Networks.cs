using NetGen;

namespace Module4.ObjectDetection;

// Every network of this module. The detectors' losses are runtime objects (YoloLoss, SsdLoss: NetGen.ILoss<float>)
// given to TrainStep / Trainer.Fit, so the declared Loss below is never used by them; MeanSquaredError is declared
// only because every network names one. Head/BoxesPerCell/Classes/Grid declare the layout the detection loss reads, so
// the analyzers check the head's channels and map size (NG0070–NG0074).

/// <summary>YOLO: one CNN from a 64×64 canvas to an 8×8 grid with 2 anchor boxes per cell, each (tx, ty, tw, th,
/// objectness, 10 class logits): 2·15 = 30 channels. Two 3×3 convolutions at 8×8 give a receptive field of 47 pixels,
/// enough to see a whole 32-pixel digit from its centre cell.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Yolo, BoxesPerCell = 2, Classes = 10, Grid = 8)]
[Input(1, 64, 64)]
[Conv2D(16, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU, MaxPool(2)]
[Conv2D(32, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU, MaxPool(2)]
[Conv2D(64, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU, MaxPool(2)]
[Conv2D(128, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU]
[Conv2D(128, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU]
[Conv2D(30, Kernel = 1)]
public partial class YoloNet;

/// <summary>SSD's backbone: the canvas to 128 feature maps of 8×8, shared by both heads.</summary>
[Network(Loss = LossFunction.MeanSquaredError)]
[Input(1, 64, 64)]
[Conv2D(16, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU, MaxPool(2)]
[Conv2D(32, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU, MaxPool(2)]
[Conv2D(64, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU, MaxPool(2)]
[Conv2D(128, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU]
public partial class SsdBackbone;

/// <summary>SSD's 8×8 head: 3 default boxes per cell × (4 offsets + 11 logits) = 45 channels.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Ssd, BoxesPerCell = 3, Classes = 10, Grid = 8)]
[Input(128, 8, 8)]
[Conv2D(45, Kernel = 3, Padding = Padding.Same)]
public partial class SsdHead8;

/// <summary>SSD's 4×4 branch: pooled from the backbone, one more convolution, its own 45-channel head.</summary>
[Network(Loss = LossFunction.MeanSquaredError, Head = DetectionHead.Ssd, BoxesPerCell = 3, Classes = 10, Grid = 4)]
[Input(128, 8, 8)]
[MaxPool(2)]
[Conv2D(128, Kernel = 3, Padding = Padding.Same), BatchNorm, ReLU]
[Conv2D(45, Kernel = 3, Padding = Padding.Same)]
public partial class SsdBranch4;

/// <summary>R-CNN's classifier: LeNet-5 on 28×28 crops, 10 digits + background (class 10).</summary>
[Network(Loss = LossFunction.CrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(6, Kernel = 5, Padding = 2), ReLU, MaxPool(2)]
[Conv2D(16, Kernel = 5), ReLU, MaxPool(2)]
[Flatten]
[Dense(120), ReLU]
[Dense(84), ReLU]
[Dense(11), Softmax]
public partial class RcnnLeNet;
