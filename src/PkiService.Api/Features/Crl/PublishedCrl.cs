using PkiService.Core.Revocation;

namespace PkiService.Api.Features.Crl;

/// <summary>A signed CRL as served over HTTP, with its validators for conditional requests.</summary>
public sealed record PublishedCrl(SignedCrl Crl)
{
    /// <summary>Strong ETag: the CRL number identifies the content for this CA (RFC 5280 5.2.3).</summary>
    public string ETag { get; } = $"\"{Crl.CrlNumber:X}\"";

    public string Pem { get; } = Crl.Pem;

    public DateTimeOffset ThisUpdate => Crl.ThisUpdate;

    public DateTimeOffset NextUpdate => Crl.NextUpdate;
}
