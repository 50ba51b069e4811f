using System.Text;
using PkiService.AspNetCore.Revocation;

namespace PkiService.AspNetCore.Tests.Revocation;

/// <summary>The revocation stream's body guard: events of any length up to the bound pass, one longer ends the read.</summary>
public sealed class GuardedEventStreamTests
{
    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public async Task ManyEventsEachUnderTheBound_AllRead(string lineEnd)
    {
        // 100 events of 48 KiB each (two data lines of 24 KiB): far more than one event's bound in total.
        var line = "data: " + new string('A', 24 * 1024 - 6);
        var oneEvent = line + lineEnd + line + lineEnd + lineEnd;
        var wire = string.Concat(Enumerable.Repeat(oneEvent, 100));

        var events = await ReadEventsAsync(wire);

        Assert.Equal(100, events);
    }

    [Theory]
    [InlineData(1)] // one endless line
    [InlineData(40)] // many data lines of one event
    public async Task EventPastTheBound_EndsTheReadWithInvalidData(int lines)
    {
        var lineLength = GuardedEventStream.MaxEventBytes / lines + 100;
        var wire = string.Concat(Enumerable.Repeat("data: " + new string('A', lineLength) + "\n", lines)) + "\n";

        await Assert.ThrowsAsync<InvalidDataException>(() => ReadEventsAsync(wire));
    }

    private static async Task<int> ReadEventsAsync(string wire)
    {
        await using var body = new GuardedEventStream(new MemoryStream(Encoding.ASCII.GetBytes(wire)), TimeSpan.FromSeconds(30));
        var parser = System.Net.ServerSentEvents.SseParser.Create(body);
        var events = 0;
        await foreach (var item in parser.EnumerateAsync())
        {
            events++;
        }
        return events;
    }
}
