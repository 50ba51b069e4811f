namespace PkiService.Core.Tests.TestSupport;

/// <summary>A clock that reads what the test set, and moves only when told.</summary>
public sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    private DateTimeOffset _now = now;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
