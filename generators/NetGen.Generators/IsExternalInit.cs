// Polyfill: lets netstandard2.0 use C# records and init-only setters.
namespace System.Runtime.CompilerServices
{
    internal static class IsExternalInit { }
}
