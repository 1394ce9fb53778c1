using System.Reflection;
using System.Text.Json.Serialization;

namespace PoNet.IO;

/// <summary>
/// The one place where an option value becomes an enum and back: by the names the configuration
/// files use (each member's <see cref="JsonStringEnumMemberNameAttribute"/>), so `--mixer fnet`, a
/// results.json and a checkpoint's config all say the same word.
/// </summary>
public static class EnumNames
{
    /// <summary>The config-file name of every member, in declaration order (members without a name are left out).</summary>
    public static IReadOnlyList<string> All<T>() where T : struct, Enum =>
        typeof(T).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name)
            .OfType<string>().ToList();

    /// <summary>The config-file name of <paramref name="value"/>.</summary>
    public static string Of<T>(T value) where T : struct, Enum =>
        typeof(T).GetField(value.ToString())?.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? value.ToString().ToLowerInvariant();

    /// <summary>Parses a config-file name (case-insensitive); <paramref name="what"/> names the option or key in the error.</summary>
    public static T Parse<T>(string value, string what) where T : struct, Enum
    {
        foreach (var field in typeof(T).GetFields(BindingFlags.Public | BindingFlags.Static))
            if (string.Equals(field.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name, value.Trim(), StringComparison.OrdinalIgnoreCase))
                return (T)field.GetValue(null)!;
        throw new PoNetInputException($"{what} {value}: expected one of {string.Join(", ", All<T>())}");
    }
}
