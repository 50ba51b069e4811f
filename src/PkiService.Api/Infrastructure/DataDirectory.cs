namespace PkiService.Api.Infrastructure;

/// <summary>The data directory and the owner-only files the service keeps in it.</summary>
public static class DataDirectory
{
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the directory (mode 0700) if missing, and tightens its mode if it exists.</summary>
    public static void Ensure(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        Directory.CreateDirectory(path, OwnerOnlyDirectory);
        File.SetUnixFileMode(path, OwnerOnlyDirectory);
    }

    /// <summary>Reads a secret file, or creates it (mode 0600) with <paramref name="create"/>'s value. Returns the value and whether it was created.</summary>
    public static (string Value, bool Created) ReadOrCreateSecret(string path, Func<string> create)
    {
        if (File.Exists(path))
        {
            return (File.ReadAllText(path).Trim(), false);
        }
        var value = create();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnlyFile;
        }
        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(value);
            writer.Write('\n');
        }
        return (value, true);
    }

    /// <summary>Writes a non-secret marker or note file (mode 0600 like every file here), replacing any earlier one.</summary>
    public static void WriteOwnerOnlyFile(string path, string content)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnlyFile;
        }
        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(content);
    }
}
