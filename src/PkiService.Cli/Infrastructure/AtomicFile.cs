using System.Text;

namespace PkiService.Cli.Infrastructure;

/// <summary>
/// Writes files so a reader never sees half of one: the content goes to a temporary file in the same directory
/// (same file system, so rename(2) is atomic), is flushed to disk, then renamed over the target.
/// </summary>
public static class AtomicFile
{
    /// <summary>0600: keys and the configuration.</summary>
    public const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>0644: certificates, which are public.</summary>
    public const UnixFileMode Public = Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> atomically with <paramref name="mode"/>.</summary>
    public static void Write(string path, string content, UnixFileMode mode) => Commit([Prepare(path, content, mode)]);

    /// <summary>
    /// Writes every temporary file first, then renames them one right after the other: the moment where one file is
    /// new and the other still old is as short as two rename(2) calls.
    /// </summary>
    public static void Commit(IReadOnlyList<PreparedFile> files)
    {
        try
        {
            foreach (var file in files)
            {
                File.Move(file.TemporaryPath, file.Path, overwrite: true);
            }
        }
        finally
        {
            foreach (var file in files)
            {
                File.Delete(file.TemporaryPath); // no-op once renamed
            }
        }
    }

    /// <summary>Writes and flushes the temporary file next to <paramref name="path"/>, created with <paramref name="mode"/> from the start.</summary>
    public static PreparedFile Prepare(string path, string content, UnixFileMode mode)
    {
        path = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(path)!;
        if (!Directory.Exists(directory))
        {
            throw CliException.Usage($"The directory {directory} does not exist.");
        }
        var temporary = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode; // never readable by others, not even for a moment
        }
        using (var stream = new FileStream(temporary, options))
        {
            var bytes = Encoding.UTF8.GetBytes(content);
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        return new PreparedFile(path, temporary);
    }
}

/// <summary>A temporary file ready to be renamed over <see cref="Path"/>.</summary>
public sealed record PreparedFile(string Path, string TemporaryPath);
