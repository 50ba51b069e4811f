using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using PkiService.AspNetCore.Tests.Support;
using PkiService.AspNetCore.Trust;
using Xunit.Abstractions;

namespace PkiService.AspNetCore.Tests.Trust;

/// <summary>The per-request check: what it costs next to a trivial request.</summary>
public sealed class ClientCertificateRequestCheckTests(ITestOutputHelper output) : IAsyncLifetime
{
    private PkiServiceInstance _pki = null!;

    public async Task InitializeAsync() => _pki = await PkiServiceInstance.StartAsync();

    public async Task DisposeAsync() => await _pki.DisposeAsync();

    [Fact]
    public async Task RequestCheck_ValidCertificate_PassesEveryRequestOn_CostPrinted()
    {
        await using var api = await ProtectedApi.StartAsync(_pki);
        using var certificate = await _pki.EnrollAsync("measured");
        using var client = api.CreateClient(certificate);
        const int Requests = 1000;
        for (var i = 0; i < 100; i++)
        {
            (await client.GetAsync("/ping")).EnsureSuccessStatusCode();
        }
        var requestClock = Stopwatch.StartNew();
        for (var i = 0; i < Requests; i++)
        {
            using var response = await client.GetAsync("/ping");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var perRequest = requestClock.Elapsed / Requests;

        // The same check the pipeline runs, on a request that carries the connection's certificate.
        var reached = 0;
        var check = ActivatorUtilities.CreateInstance<ClientCertificateRequestCheck>(api.Services, (RequestDelegate)(_ => { reached++; return Task.CompletedTask; }));
        var context = new DefaultHttpContext();
        context.Features.Set<ITlsConnectionFeature>(new TlsConnectionFeature { ClientCertificate = certificate });
        const int Checks = 200_000;
        for (var i = 0; i < 1000; i++)
        {
            await check.InvokeAsync(context);
        }
        var checkClock = Stopwatch.StartNew();
        for (var i = 0; i < Checks; i++)
        {
            await check.InvokeAsync(context);
        }
        var perCheck = checkClock.Elapsed / Checks;
        var share = perCheck / perRequest;
        output.WriteLine($"trivial request over mTLS keep-alive: {perRequest.TotalMicroseconds:0.0} us; per-request check: {perCheck.TotalMicroseconds:0.000} us ({share:P2})");

        // Speed is the load test's to judge (ops/bench/run.sh, /whoami with the checks on and off); printed here as a reading.
        Assert.Equal(Checks + 1000, reached);
    }

    private sealed class TlsConnectionFeature : ITlsConnectionFeature
    {
        public System.Security.Cryptography.X509Certificates.X509Certificate2? ClientCertificate { get; set; }

        public Task<System.Security.Cryptography.X509Certificates.X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) =>
            Task.FromResult(ClientCertificate);
    }
}
