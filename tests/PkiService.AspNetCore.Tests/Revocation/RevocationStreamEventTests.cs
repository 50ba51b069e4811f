using System.Text;
using PkiService.AspNetCore.Revocation;

namespace PkiService.AspNetCore.Tests.Revocation;

/// <summary>The client side of the revocation stream's wire format (WIRE12: Server-Sent Events).</summary>
public sealed class RevocationStreamEventTests
{
    private const string Issuer = "5C1A3F0E9B7D2C4A6E8F0B1D3C5A7E9F1B3D5C7A9E1F3B5D7C9A1E3F5B7D9C1A";

    [Fact]
    public async Task ReadAsync_WireFormat_GivesRevocationsThenReadyWithTheirIds()
    {
        var wire =
            "retry: 2000\n\n" +
            "id: 7\nevent: revoked\n" +
            $"data: {{\"issuer\":\"{Issuer}\",\"serialNumber\":\"00AB12\",\"reason\":\"keyCompromise\",\"revokedAt\":\"2026-12-01T19:40:35Z\"}}\n\n" +
            ": keep-alive\n\n" +
            "id: 7\nevent: ready\ndata: {\"crlNumber\":7}\n\n" +
            "event: something-else\ndata: {}\n\n" +
            "id: 8\r\nevent: revoked\r\n" +
            $"data: {{\"issuer\":\"{Issuer.ToLowerInvariant()}\",\"serialNumber\":\"c0ffee\",\"reason\":\"superseded\",\"revokedAt\":\"2026-12-01T19:41:00Z\"}}\r\n\r\n";

        var events = await ReadAllAsync(wire);

        Assert.Equal(
        [
            new RevocationStreamEvent.Revoked(7, Issuer, "AB12", "keyCompromise", new DateTimeOffset(2026, 12, 1, 19, 40, 35, TimeSpan.Zero)),
            new RevocationStreamEvent.Ready(7, 7),
            new RevocationStreamEvent.Revoked(8, Issuer, "C0FFEE", "superseded", new DateTimeOffset(2026, 12, 1, 19, 41, 0, TimeSpan.Zero)),
        ], events);
    }

    [Theory]
    [InlineData("revoked", "{\"issuer\":\"AB\",\"serialNumber\":\"not hex\",\"revokedAt\":\"2026-12-01T19:40:35Z\"}")]
    [InlineData("revoked", "{\"issuer\":\"AB\",\"serialNumber\":\"01\"}")]
    [InlineData("revoked", "{not json")]
    [InlineData("ready", "{\"crlNumber\":-1}")]
    [InlineData("ready", "[]")]
    public void Parse_MalformedData_IsSkipped(string type, string data) =>
        Assert.Null(RevocationStreamEvent.Parse(type, data, 3));

    [Fact]
    public async Task ReadAsync_MalformedEvent_ReportedAndTheRestRead()
    {
        var malformed = new List<string>();
        var wire = "event: revoked\ndata: {oops\n\nid: 2\nevent: ready\ndata: {\"crlNumber\":2}\n\n";

        var events = await ReadAllAsync(wire, malformed.Add);

        Assert.Equal(["revoked"], malformed);
        Assert.Equal([new RevocationStreamEvent.Ready(2, 2)], events);
    }

    private static async Task<List<RevocationStreamEvent>> ReadAllAsync(string wire, Action<string>? malformed = null)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(wire));
        var events = new List<RevocationStreamEvent>();
        await foreach (var item in RevocationStreamEvent.ReadAsync(stream, malformed, CancellationToken.None))
        {
            events.Add(item);
        }
        return events;
    }
}
