using System.Diagnostics;
using System.Text.RegularExpressions;
using PkiService.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace PkiService.Interop.Tests.Revocation;

/// <summary>
/// The revocation stream read by <c>curl -N</c> from the real service process: events arrive as they happen (nothing
/// buffers them), in the wire format relying parties build to.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed partial class RevocationStreamCurlTests(ServiceProcess service, ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _work = new();

    public void Dispose() => _work.Dispose();

    [SkippableFact]
    public async Task CurlNoBuffer_SeesRevocationEventAsItHappens()
    {
        var curl = RequiredTool.Curl();
        var openssl = new Openssl(RequiredTool.Openssl(), _work.Path);
        var issued = await ServiceCertificates.IssueClientAsync(service.Api, openssl, "stream-curl");
        using var stream = BackgroundProcess.Start(curl, ["-sS", "-N", "-i", $"{service.PublicBaseUrl}/pki/revocations/stream"]);
        Assert.True(await Wait.UntilAsync(() => stream.Output.Contains("event: ready", StringComparison.Ordinal), TimeSpan.FromSeconds(15)), stream.Describe());

        var sinceRevoke = Stopwatch.StartNew();
        await service.Api.RevokeAsync(issued.SerialNumber, "keyCompromise");
        var arrived = await Wait.UntilAsync(() => stream.Output.Contains(issued.SerialNumber, StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Timing.Report(output, "revoke->curl-stream-event", sinceRevoke.Elapsed, "the revoke call's own time included");

        Assert.True(arrived, stream.Describe());
        var text = stream.Output;
        Assert.Matches("(?im)^content-type: text/event-stream", text);
        Assert.Matches("(?im)^cache-control: no-store", text);
        Assert.Contains("retry: 2000", text, StringComparison.Ordinal);
        var revoked = RevokedEvent().Match(text);
        Assert.True(revoked.Success, text);
        Assert.Equal(issued.SerialNumber, revoked.Groups["serial"].Value);
        Assert.Matches("^[0-9A-F]{64}$", revoked.Groups["issuer"].Value);
    }

    [GeneratedRegex("""id: \d+\nevent: revoked\ndata: \{"issuer":"(?<issuer>[0-9A-F]+)","serialNumber":"(?<serial>[0-9A-F]+)","reason":"keyCompromise","revokedAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}\n""")]
    private static partial Regex RevokedEvent();
}
