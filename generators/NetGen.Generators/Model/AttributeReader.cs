using System;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace NetGen.Generators.Model;

/// <summary>
/// Builds the attribute object a declaration names, as the runtime would: the attribute classes of
/// <c>src/NetGen/Attributes.cs</c> are compiled into the generator (namespace <c>NetGen.Generators.Declared</c>), so
/// the constructor runs with the written arguments and the named arguments are assigned to their properties. Every
/// option not written keeps the default the attribute class gives it — the one place defaults are written (as Mapperly
/// reads its own attribute types). Never throws: an attribute that does not fit yields null.
/// </summary>
internal static class AttributeReader
{
    public static T? Create<T>(AttributeData data) where T : Attribute
    {
        try
        {
            var arguments = data.ConstructorArguments;
            foreach (var constructor in typeof(T).GetConstructors())
            {
                var parameters = constructor.GetParameters();
                if (parameters.Length < arguments.Length) continue;
                var values = new object?[parameters.Length];
                bool ok = true;
                for (int i = 0; i < parameters.Length && ok; i++)
                {
                    if (i < arguments.Length) ok = TryConvert(arguments[i], parameters[i].ParameterType, out values[i]);
                    else if (parameters[i].HasDefaultValue) values[i] = parameters[i].DefaultValue;
                    else ok = false;
                }
                if (!ok) continue;
                var attribute = (T)constructor.Invoke(values);
                foreach (var named in data.NamedArguments)
                {
                    var property = typeof(T).GetProperty(named.Key);
                    if (property is null || !property.CanWrite || !TryConvert(named.Value, property.PropertyType, out var value)) return null;
                    property.SetValue(attribute, value);
                }
                return attribute;
            }
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return null;
        }
    }

    private static bool TryConvert(TypedConstant constant, Type type, out object? value)
    {
        value = null;
        if (constant.Kind == TypedConstantKind.Error) return false;
        if (constant.Kind == TypedConstantKind.Array)
        {
            if (!type.IsArray || constant.IsNull) return constant.IsNull && type.IsArray;
            var element = type.GetElementType()!;
            var array = Array.CreateInstance(element, constant.Values.Length);
            for (int i = 0; i < constant.Values.Length; i++)
            {
                if (!TryConvert(constant.Values[i], element, out var v)) return false;
                array.SetValue(v, i);
            }
            value = array;
            return true;
        }
        if (constant.Value is null) return !type.IsValueType;
        if (type.IsEnum) { value = Enum.ToObject(type, constant.Value); return true; }
        if (type.IsInstanceOfType(constant.Value)) { value = constant.Value; return true; }
        if (constant.Value is IConvertible && (type.IsPrimitive || type == typeof(decimal)))
        {
            value = Convert.ChangeType(constant.Value, type, CultureInfo.InvariantCulture);
            return true;
        }
        return false;
    }
}
