namespace PkiService.Persistence.Entities;

/// <summary>
/// A small fact about the deployment that every node must agree on and that a node's data directory must not be the
/// only keeper of (e.g. that the audit rows written before the audit MAC have been sealed). Rows are added by the
/// service only, never from outside input.
/// </summary>
public sealed class ServiceStateRecord
{
    public required string Key { get; set; }

    public required string Value { get; set; }

    public DateTime UpdatedAt { get; set; }
}
