using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PkiService.Api.Infrastructure;

/// <summary>
/// This running node among those sharing a database: host name, process id and a random part, so two processes on one
/// host, and two hosts in one test process, never share it. Short printable ASCII (letters, digits, '.', '-'), so it can
/// go into a notification payload or a lease row as is.
/// </summary>
public sealed class NodeInstance
{
    /// <summary>Longest part of the host name kept.</summary>
    private const int MaxHostLength = 40;

    public NodeInstance()
    {
        var host = new StringBuilder(MaxHostLength);
        foreach (var c in Environment.MachineName.Take(MaxHostLength))
        {
            host.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : '-');
        }
        Id = string.Create(CultureInfo.InvariantCulture,
            $"{(host.Length > 0 ? host : "node")}-{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
    }

    /// <summary>The instance id, e.g. <c>pki-a-4711-9f86d081</c>.</summary>
    public string Id { get; }

    public override string ToString() => Id;
}
