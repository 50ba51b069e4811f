using System.Security.Cryptography;

namespace PkiService.Core.Audit;

/// <summary>One stored audit row, as the verifier reads it.</summary>
/// <param name="Content">The hashed content (id included).</param>
/// <param name="PreviousHash">The hash the row says comes before it.</param>
/// <param name="Hash">The row's chain hash.</param>
/// <param name="Mac">The row's MAC under the audit key; null on a row written before the MAC and not sealed since.</param>
public sealed record AuditRow(AuditEntryContent Content, byte[] PreviousHash, byte[] Hash, byte[]? Mac);

/// <summary>The first row that does not verify, and why.</summary>
/// <param name="RowId">The row (for a gap: the first missing id).</param>
/// <param name="Reason">Why, in words an operator can act on.</param>
public sealed record AuditChainFault(long RowId, string Reason);

/// <summary>
/// Checks the audit trail row by row, in id order: ids consecutive from 1, each row linked to the hash of the row
/// before it, its content matching its hash (<see cref="AuditChain"/>), and its MAC verifying under the audit key.
/// The hash chain finds an edit by someone who does not recompute the later hashes; the MAC finds one by someone who
/// does but does not hold the audit key. Neither finds the newest rows cut off: that is what signed checkpoints are for.
/// </summary>
public sealed class AuditChainVerifier
{
    private readonly IAuditMacKey _key;
    private byte[] _previousHash = AuditChain.Genesis;
    private long _expectedId = 1;
    private bool _sawMac;

    public AuditChainVerifier(IAuditMacKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key;
    }

    /// <summary>Rows that verified so far.</summary>
    public long Checked { get; private set; }

    /// <summary>Of those, the leading rows without a MAC (only with <c>allowUnsealedPrefix</c>).</summary>
    public long Unsealed { get; private set; }

    /// <summary>The hash of the last row that verified, or null when none has.</summary>
    public byte[]? LastHash => Checked == 0 ? null : _previousHash;

    /// <summary>The id of the last row that verified (0 when none has).</summary>
    public long LastId => _expectedId - 1;

    /// <summary>Checks the next row. After a fault the verifier's state is that of the last good row.</summary>
    /// <param name="row">The row after the last one checked.</param>
    /// <param name="allowUnsealedPrefix">
    /// Accept rows without a MAC as long as no row before them carried one: the rows written before the MAC existed,
    /// which the start-up sealing is about to seal. A row without a MAC after one with a MAC is never accepted (its MAC
    /// was removed).
    /// </param>
    public AuditChainFault? Next(AuditRow row, bool allowUnsealedPrefix = false)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (row.Content.Id != _expectedId)
        {
            return new AuditChainFault(_expectedId, $"row {_expectedId} is missing (next row is {row.Content.Id})");
        }
        if (!row.PreviousHash.AsSpan().SequenceEqual(_previousHash))
        {
            return new AuditChainFault(row.Content.Id, "its previous-hash does not match the row before it");
        }
        var unsealed = row.Mac is null && allowUnsealedPrefix && !_sawMac;
        if ((unsealed ? CheckContent(row) : Authenticate(row)) is { } fault)
        {
            return fault;
        }
        _sawMac |= row.Mac is not null;
        Unsealed += unsealed ? 1 : 0;
        _previousHash = row.Hash;
        _expectedId++;
        Checked++;
        return null;
    }

    /// <summary>
    /// Checks one row on its own: its content matches its hash and its MAC verifies (so the row, and the previous hash it
    /// names, are as the service wrote them). Does not look at the rows around it.
    /// </summary>
    public AuditChainFault? Authenticate(AuditRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (CheckContent(row) is { } fault)
        {
            return fault;
        }
        if (row.Mac is null)
        {
            return new AuditChainFault(row.Content.Id,
                "it has no MAC (its MAC was removed, or it was written before the audit MAC and never sealed)");
        }
        // The MAC is a secret-keyed value: compare in constant time.
        if (!CryptographicOperations.FixedTimeEquals(_key.ComputeMac(row.Hash), row.Mac))
        {
            return new AuditChainFault(row.Content.Id,
                "its MAC does not verify (the row, or the chain up to it, was rewritten without the audit key)");
        }
        return null;
    }

    private static AuditChainFault? CheckContent(AuditRow row) =>
        AuditChain.Hash(row.PreviousHash, row.Content).AsSpan().SequenceEqual(row.Hash)
            ? null
            : new AuditChainFault(row.Content.Id, "its content does not match its hash (the row was altered)");
}
