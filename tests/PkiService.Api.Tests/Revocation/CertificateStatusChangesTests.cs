using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Org.BouncyCastle.X509;
using PkiService.Api.Features.Ocsp;
using PkiService.Api.Revocation;
using PkiService.Api.Tests.Support;
using PkiService.Core.Authorities;
using PkiService.Core.Primitives;
using PkiService.Core.Revocation;
using PkiService.Persistence;

namespace PkiService.Api.Tests.Revocation;

/// <summary>
/// The status-change seam on its own, as a change another node announces will use it (issue #11): the row is revoked in
/// the database without this node's revoke call, and only the seam tells the node.
/// </summary>
public sealed class CertificateStatusChangesTests
{
    [Fact]
    public async Task StatusChanged_WithoutRevokeCall_DropsCachedOcspReplyAndCrlListsIt()
    {
        using var factory = new PkiApiFactory();
        using var client = factory.CreateClient();
        var serial = await EnrollAsync(factory, "changed-elsewhere");
        var issuer = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));
        var request = OcspClient.Request(issuer, serial);
        var cachedGood = await OcspAsync(client, request);
        Assert.Equal("good", OcspClient.StatusOf(cachedGood));

        await RevokeInDatabaseAsync(factory, serial, factory.Services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime);
        // Nothing told this node yet: the signed "good" is still served from the cache, and the CRL does not list it.
        Assert.Equal(cachedGood, await OcspAsync(client, request));
        Assert.False(await CrlListsAsync(client, serial));

        await factory.Services.GetRequiredService<ICertificateStatusChanges>()
            .StatusChangedAsync(IssuingFingerprint(factory), SerialNumber.Parse(serial), CancellationToken.None);

        // When the call returns: a newly signed "revoked" (keyCompromise = 1), and the complete CRL lists it.
        Assert.Equal("revoked:1", OcspClient.StatusOf(await OcspAsync(client, request)));
        Assert.True(await CrlListsAsync(client, serial));
    }

    [Fact]
    public async Task AllStatusesMayHaveChanged_EmptiesEveryOcspTableAndRebuildsCrlFromDatabase()
    {
        using var factory = new PkiApiFactory();
        using var client = factory.CreateClient();
        var revoked = await EnrollAsync(factory, "missed-notification");
        var good = await EnrollAsync(factory, "still-good");
        var issuer = OcspClient.Parse(await client.GetByteArrayAsync("/pki/ca.crt"));
        foreach (var serial in new[] { revoked, good })
        {
            var request = OcspClient.Request(issuer, serial);
            Assert.Equal("good", OcspClient.StatusOf(await OcspAsync(client, request)));
            Assert.Equal("good", OcspClient.StatusOf(await (await client.GetAsync(GetPath(request))).Content.ReadAsByteArrayAsync()));
        }
        Assert.All(Usage(factory), table => Assert.True(table.Count > 0, $"{table.Table} should hold rows before"));

        // A revocation dated an hour back, whose notification this node missed: older than the base CRL, so a CRL
        // build that reads only the changes since the base would never list it.
        var now = factory.Services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime;
        await RevokeInDatabaseAsync(factory, revoked, now.AddHours(-1));
        await factory.Services.GetRequiredService<ICertificateStatusChanges>().AllStatusesMayHaveChangedAsync(CancellationToken.None);

        Assert.All(Usage(factory), table => Assert.Equal((0, 0L), (table.Count, table.Bytes)));
        Assert.Equal("revoked:1", OcspClient.StatusOf(await OcspAsync(client, OcspClient.Request(issuer, revoked))));
        Assert.Equal("good", OcspClient.StatusOf(await OcspAsync(client, OcspClient.Request(issuer, good))));
        Assert.True(await CrlListsAsync(client, revoked));
        Assert.False(await CrlListsAsync(client, good));
    }

    /// <summary>Revokes the row the way another node would: in the database only, through the one revocation mapping.</summary>
    private static async Task RevokeInDatabaseAsync(PkiApiFactory factory, string serial, DateTime revokedAtUtc)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PkiDbContext>();
        var changed = await db.Certificates.Where(c => c.SerialNumber == serial)
            .ExecuteUpdateAsync(s => CertificateRevocationRow.SetRevoked(s, revokedAtUtc, RevocationReason.KeyCompromise, null));
        Assert.Equal(1, changed);
    }

    private static async Task<byte[]> OcspAsync(HttpClient client, byte[] request) =>
        await (await OcspClient.PostAsync(client, request)).Content.ReadAsByteArrayAsync();

    private static async Task<bool> CrlListsAsync(HttpClient client, string serial) =>
        new X509CrlParser().ReadCrl(await client.GetByteArrayAsync("/pki/crl"))
            .GetRevokedCertificate(new Org.BouncyCastle.Math.BigInteger(serial, 16)) is not null;

    private static string IssuingFingerprint(PkiApiFactory factory) => factory.Services.GetRequiredService<CaHierarchy>().Issuing.Fingerprint;

    private static IReadOnlyList<OcspResponseCache.TableUsage> Usage(PkiApiFactory factory) =>
        factory.Services.GetRequiredService<OcspResponseCache>().Usage();

    private static string GetPath(byte[] request) => "/ocsp/" + Uri.EscapeDataString(Convert.ToBase64String(request));

    private static async Task<string> EnrollAsync(PkiApiFactory factory, string commonName)
    {
        var token = await factory.CreateTokenAsync(commonName);
        var response = await factory.EnrollAsync(token, Csrs.P256(commonName));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
    }
}
