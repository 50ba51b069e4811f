namespace PkiService.Api.Issuance;

/// <summary>What a renewal accepts (section <c>Renewal</c>, shared with the mTLS listener's own settings), from any front end.</summary>
public sealed class RenewalKeyOptions
{
    public const string Section = "Renewal";

    /// <summary>
    /// Whether a renewal may certify the same public key again. Off by default: a renewal must bring a new key (400
    /// otherwise, and the old certificate stays active), as step-ca and EST clients do.
    /// </summary>
    public bool AllowKeyReuse { get; set; }
}
