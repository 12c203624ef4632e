using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using Xunit.Abstractions;

namespace NetGen.Tests.Gpu;

/// <summary>
/// Every generated kernel obeys ILGPU's rules: each is compiled by ILGPU's CUDA (PTX, sm_70) and OpenCL (C 2.0) backends,
/// which need no device to compile, so a kernel that allocates, throws, calls an unsupported method or uses a math
/// function without a GPU intrinsic fails here, not on a user's GPU. (The CPU emulator would run such a kernel: it
/// executes the .NET code.) The networks are the ones declared in this test project — the course's MLPs and CNNs —
/// and the kernels of one random CNN of each layer kind.
/// </summary>
[Collection(GpuCollection.Name)]
public sealed class GpuKernelCompileTests(ITestOutputHelper output)
{
    private static IEnumerable<Type> GpuClasses() => typeof(GpuKernelCompileTests).Assembly.GetTypes()
        .Where(t => t.Name == "Gpu" && t.IsNested && t.BaseType is { IsGenericType: true } b && b.GetGenericTypeDefinition() == typeof(NetGen.Gpu.GpuNetwork<>))
        .OrderBy(t => t.FullName, StringComparer.Ordinal);

    public static TheoryData<string> Networks()
    {
        var data = new TheoryData<string>();
        // A network with a CPU-only layer gets a Gpu class that refuses to be built (its private Unsupported() throws,
        // naming the layer; LayerCatalogTests lists those kinds): it has no kernels to compile.
        foreach (var type in GpuClasses())
            if (type.GetMethod("Unsupported", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static) is null)
                data.Add(type.DeclaringType!.FullName!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void EveryKernelCompilesForCudaAndOpenCL(string network)
    {
        var gpu = typeof(GpuKernelCompileTests).Assembly.GetType(network, throwOnError: true)!.GetNestedType("Gpu")!;
        var kernels = GpuCompare.Kernels(gpu);
        Assert.NotEmpty(kernels);
        using var context = Context.Create(builder => builder.Default().EnableAlgorithms().Math(MathMode.Default));
        using var ptx = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_70), CudaArchitecture.SM_70, CudaInstructionSet.ISA_70, null);
        // Double networks need the cl_khr_fp64 extension every current OpenCL GPU has.
        using var cl = new CLBackend(context, new CLCapabilityContext(false, true, false, false, false), CLDeviceVendor.Other, CLCVersion.CL20);
        var specialization = new KernelSpecialization();
        long ptxBytes = 0, clBytes = 0;
        foreach (var kernel in kernels)
        {
            var entry = EntryPointDescription.FromImplicitlyGroupedKernel(kernel);
            try
            {
                ptxBytes += ((PTXCompiledKernel)ptx.Compile(entry, specialization)).PTXAssembly.Length;
                clBytes += ((CLCompiledKernel)cl.Compile(entry, specialization)).Source.Length;
            }
            catch (Exception e)
            {
                Assert.Fail($"{gpu.DeclaringType!.Name}.Gpu.{kernel.Name} does not compile for the GPU: {e.InnerException?.Message ?? e.Message}");
            }
        }
        output.WriteLine($"{kernels.Count} kernels: {ptxBytes:N0} characters of PTX, {clBytes:N0} of OpenCL C");
    }

    [Fact]
    public void TheCourseNetworksAllHaveGpuClasses()
    {
        var names = GpuClasses().Select(t => t.DeclaringType!.Name).ToHashSet();
        foreach (var expected in new[] { "WorkedExample", "Perceptron", "XorNet", "DigitsMlp", "ShallowNet", "LeNet", "MiniVggNet" })
            Assert.Contains(expected, names);
    }

    [Fact]
    public void AKernelThatBreaksTheRulesIsCaught()
    {
        // The check itself can fail: a kernel that allocates does not compile for the GPU.
        using var context = Context.Create(builder => builder.Default().EnableAlgorithms());
        using var ptx = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_70), CudaArchitecture.SM_70, CudaInstructionSet.ISA_70, null);
        var entry = EntryPointDescription.FromImplicitlyGroupedKernel(typeof(GpuKernelCompileTests).GetMethod(nameof(Allocates), BindingFlags.NonPublic | BindingFlags.Static)!);
        Assert.ThrowsAny<Exception>(() => ptx.Compile(entry, new KernelSpecialization()));
    }

    private static void Allocates(Index1D i, ArrayView<float> x)
    {
        var scratch = new float[4];
        scratch[i % 4] = x[i];
        x[i] = scratch.Sum();
    }
}
