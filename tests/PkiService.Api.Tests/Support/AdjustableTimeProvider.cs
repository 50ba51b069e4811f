namespace PkiService.Api.Tests.Support;

/// <summary>A clock tests can move forward.</summary>
public sealed class AdjustableTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
