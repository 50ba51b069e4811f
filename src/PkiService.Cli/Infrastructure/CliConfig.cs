using System.Text.Json;
using System.Text.Json.Serialization;

namespace PkiService.Cli.Infrastructure;

/// <summary>
/// What <c>pki bootstrap</c> saved: the service URL, the renewal (mTLS) URL and the root every later command trusts,
/// as <c>{ "url", "mtlsUrl", "root", "fingerprint" }</c> (WIRE15.md). Never holds the API key or a token.
/// </summary>
public sealed record CliConfig(
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("mtlsUrl")] string? MtlsUrl,
    [property: JsonPropertyName("root")] string Root,
    [property: JsonPropertyName("fingerprint")] string Fingerprint)
{
    /// <summary>The default place: <c>~/.config/pki/config.json</c>.</summary>
    public static string DefaultPath => Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "pki", "config.json");

    /// <summary>Where renewal goes: <c>mtlsUrl</c>, or <c>url</c> when one address serves both (a proxied deployment).</summary>
    [JsonIgnore]
    public Uri RenewalBase => Base(MtlsUrl ?? Url);

    [JsonIgnore]
    public Uri ServiceBase => Base(Url);

    /// <summary>The saved root, the only trust anchor of every command after bootstrap.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2 RootCertificate() =>
        System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(Root);

    public static CliConfig Load(string? path)
    {
        path ??= DefaultPath;
        if (!File.Exists(path))
        {
            throw CliException.Usage($"No configuration at {path}; run 'pki bootstrap --url URL --fingerprint SHA256' first (or pass --config).");
        }
        try
        {
            var config = JsonSerializer.Deserialize<CliConfig>(File.ReadAllText(path));
            if (config is null || string.IsNullOrWhiteSpace(config.Url) || string.IsNullOrWhiteSpace(config.Root))
            {
                throw CliException.Usage($"{path} lacks 'url' or 'root'; run 'pki bootstrap' again.");
            }
            return config;
        }
        catch (JsonException e)
        {
            throw CliException.Usage($"{path} is not a pki configuration ({e.Message}); run 'pki bootstrap' again.");
        }
    }

    /// <summary>Writes the file atomically with mode 0600 (its directory 0700 when created).</summary>
    public void Save(string? path)
    {
        path = Path.GetFullPath(path ?? DefaultPath);
        var directory = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        AtomicFile.Write(path, JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }) + "\n", AtomicFile.Private);
    }

    private static Uri Base(string url) => new(url.EndsWith('/') ? url : url + "/");
}
