namespace PkiService.Persistence.Entities;

/// <summary>
/// A job that one node of a cluster runs at a time (the CRL builder): who holds it and until when. The holder renews
/// it well before <see cref="ExpiresAt"/>; another node takes it over once it has expired (the holder died or lost the
/// database). Times are the database server's clock, so the nodes' clocks need not agree.
/// </summary>
public sealed class LeaseRecord
{
    /// <summary>The job, e.g. <c>crl-builder</c>.</summary>
    public required string Name { get; set; }

    /// <summary>The holding node's instance id (host name, process id and a random part).</summary>
    public required string Holder { get; set; }

    public DateTime ExpiresAt { get; set; }

    /// <summary>Incremented at each change of holder: a fencing token for what the holder publishes.</summary>
    public long Generation { get; set; }
}
