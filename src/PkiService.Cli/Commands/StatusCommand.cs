using System.CommandLine;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Oiw;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Ocsp;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Extension;
using PkiService.Cli.Crypto;
using PkiService.Cli.Infrastructure;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace PkiService.Cli.Commands;

/// <summary>
/// <c>pki status --cert F [--crl]</c>: asks OCSP (the certificate's AIA OCSP URL, else the service's <c>/ocsp</c>) and,
/// with <c>--crl</c>, the CRL too (its CDP URL, else <c>/pki/crl</c>); both answers must be signed by the issuing CA
/// (or its OCSP responder), which must chain to the saved root. Prints good / revoked / unknown; exit 0 only for good.
/// </summary>
public static class StatusCommand
{
    private const string OcspSigningOid = "1.3.6.1.5.5.7.3.9";
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>RFC 5280 5.3.1 reason codes, named as the service names them.</summary>
    private static readonly Dictionary<int, string> Reasons = new()
    {
        [0] = "unspecified", [1] = "keyCompromise", [2] = "caCompromise", [3] = "affiliationChanged", [4] = "superseded",
        [5] = "cessationOfOperation", [6] = "certificateHold", [8] = "removeFromCrl", [9] = "privilegeWithdrawn", [10] = "aaCompromise",
    };

    /// <summary>One source's answer.</summary>
    public sealed record Answer(string Source, string Url, string Status, string? Reason, DateTimeOffset? RevokedAt, DateTimeOffset ThisUpdate, DateTimeOffset? NextUpdate);

    public static Command Create()
    {
        var cert = new Option<string>("--cert") { Description = "The certificate to check (PEM; the first certificate of the file).", Required = true };
        var crl = new Option<bool>("--crl") { Description = "Check the CRL too (revoked if either says so)." };
        var json = PkiCommands.Json();
        var command = new Command("status", "Ask OCSP (and the CRL) whether a certificate is good, revoked or unknown. Exit 0 only when good.")
        {
            cert, crl, json,
        };
        command.SetCliAction(async (parse, cancellationToken) =>
        {
            var config = CliConfig.Load(parse.GetValue(PkiCommands.Config));
            using var root = config.RootCertificate();
            using var certificate = CertificateFiles.ReadCertificate(parse.GetRequiredValue(cert));
            using var http = PkiHttp.Create(config.ServiceBase, root);

            var issuer = await IssuerAsync(http, certificate, root, cancellationToken);
            var parser = new X509CertificateParser();
            var leaf = parser.ReadCertificate(certificate.RawData);
            var issuing = parser.ReadCertificate(issuer.RawData);

            var answers = new List<Answer> { await OcspAsync(http, config, leaf, issuing, cancellationToken) };
            if (parse.GetValue(crl))
            {
                answers.Add(await CrlAsync(http, config, leaf, issuing, cancellationToken));
            }
            var overall = answers.Any(a => a.Status == "revoked") ? "revoked" : answers.All(a => a.Status == "good") ? "good" : "unknown";
            var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
            var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    status = overall, serialNumber = certificate.SerialNumber, subject = certificate.Subject, notBefore, notAfter, answers,
                }, Json.Indented));
            }
            else
            {
                var revoked = answers.FirstOrDefault(a => a.Status == "revoked");
                Console.WriteLine(revoked is null ? overall : $"revoked: {revoked.Reason} at {revoked.RevokedAt:u}");
                Console.WriteLine($"certificate {certificate.SerialNumber} '{certificate.Subject}', valid {notBefore:u} to {notAfter:u}");
                foreach (var a in answers)
                {
                    Console.WriteLine($"{a.Source}: {a.Status}{(a.Reason is null ? "" : $" ({a.Reason}, {a.RevokedAt:u})")}, "
                        + $"thisUpdate {a.ThisUpdate:u}, nextUpdate {a.NextUpdate:u}, from {a.Url}");
                }
            }
            return overall == "good" ? ExitCodes.Ok : ExitCodes.Refused;
        });
        return command;
    }

    /// <summary>The issuing CA from the service's public chain, accepted only when the certificate chains through it to the saved root.</summary>
    private static async Task<X509Certificate2> IssuerAsync(HttpClient http, X509Certificate2 certificate, X509Certificate2 root, CancellationToken cancellationToken)
    {
        using var response = await PkiHttp.GetAsync(http, "pki/chain.pem", cancellationToken);
        var chain = new X509Certificate2Collection();
        chain.ImportFromPem(await response.Content.ReadAsStringAsync(cancellationToken));
        CertificateFiles.VerifyChain(certificate, root, chain);
        return chain.FirstOrDefault(c => c.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData))
            ?? throw CliException.Trust($"The service's chain has no certificate named '{certificate.Issuer}'.");
    }

    private static async Task<Answer> OcspAsync(HttpClient http, CliConfig config, BcCertificate leaf, BcCertificate issuer, CancellationToken cancellationToken)
    {
        var url = OcspUrl(leaf) ?? new Uri(config.ServiceBase, "ocsp").ToString();
        var id = new CertificateID(new AlgorithmIdentifier(OiwObjectIdentifiers.IdSha1, DerNull.Instance), issuer, leaf.SerialNumber);
        var generator = new OcspReqGenerator();
        generator.AddRequest(id);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(generator.Generate().GetEncoded()) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/ocsp-request");
        using var response = await PkiHttp.SendAsync(http, request, cancellationToken);
        var der = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        try
        {
            return VerifyOcsp(url, der, id, issuer);
        }
        catch (Exception e) when (e is not CliException)
        {
            throw CliException.Trust($"The OCSP answer from {url} is not usable: {PkiHttp.OneLine(e.Message)}");
        }
    }

    /// <summary>RFC 6960 3.2: signed by the issuing CA or an OCSPSigning responder it issued (4.2.2.2), for this certificate, current.</summary>
    private static Answer VerifyOcsp(string url, byte[] der, CertificateID id, BcCertificate issuer)
    {
        var response = new OcspResp(der);
        if (response.Status != OcspRespStatus.Successful || response.GetResponseObject() is not BasicOcspResp basic)
        {
            throw CliException.Trust($"OCSP at {url} answered status {response.Status}.");
        }
        var signer = issuer.GetPublicKey();
        if (basic.GetCerts()?.FirstOrDefault(c => !c.Equals(issuer)) is { } responder)
        {
            responder.Verify(issuer.GetPublicKey());
            if (!responder.IsValidNow || responder.GetExtendedKeyUsage()?.Any(oid => oid.Id == OcspSigningOid) != true)
            {
                throw CliException.Trust($"The OCSP responder certificate from {url} is not a current OCSPSigning certificate of the issuing CA.");
            }
            signer = responder.GetPublicKey();
        }
        if (!basic.Verify(signer))
        {
            throw CliException.Trust($"The OCSP answer from {url} is not signed by the issuing CA or its responder.");
        }
        var single = basic.Responses.FirstOrDefault(r => r.GetCertID().Equals(id))
            ?? throw CliException.Trust($"The OCSP answer from {url} is not about this certificate.");
        if (single.ThisUpdate > DateTime.UtcNow + ClockSkew || single.NextUpdate is { } next && next < DateTime.UtcNow - ClockSkew)
        {
            throw CliException.Trust($"The OCSP answer from {url} is not current (thisUpdate {single.ThisUpdate:u}, nextUpdate {single.NextUpdate:u}).");
        }
        var thisUpdate = Utc(single.ThisUpdate);
        DateTimeOffset? nextUpdate = single.NextUpdate is { } n ? Utc(n) : null;
        return single.GetCertStatus() switch
        {
            null => new Answer("ocsp", url, "good", null, null, thisUpdate, nextUpdate),
            RevokedStatus revoked => new Answer("ocsp", url, "revoked",
                ReasonName(revoked.HasRevocationReason ? revoked.RevocationReason : 0), Utc(revoked.RevocationTime), thisUpdate, nextUpdate),
            _ => new Answer("ocsp", url, "unknown", null, null, thisUpdate, nextUpdate),
        };
    }

    private static async Task<Answer> CrlAsync(HttpClient http, CliConfig config, BcCertificate leaf, BcCertificate issuer, CancellationToken cancellationToken)
    {
        var url = CrlUrl(leaf) ?? new Uri(config.ServiceBase, "pki/crl").ToString();
        using var response = await PkiHttp.GetAsync(http, url, cancellationToken);
        var der = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        X509Crl crl;
        try
        {
            crl = new X509CrlParser().ReadCrl(der) ?? throw new InvalidDataException("empty");
            crl.Verify(issuer.GetPublicKey()); // RFC 5280 6.3.3 (f): the CRL is signed by the certificate's issuer
        }
        catch (Exception e) when (e is not CliException)
        {
            throw CliException.Trust($"The CRL from {url} is not usable: {PkiHttp.OneLine(e.Message)}");
        }
        if (!crl.IssuerDN.Equivalent(leaf.IssuerDN))
        {
            throw CliException.Trust($"The CRL from {url} is issued by '{crl.IssuerDN}', not by the certificate's issuer.");
        }
        var thisUpdate = Utc(crl.ThisUpdate);
        DateTimeOffset? nextUpdate = crl.NextUpdate is { } n ? Utc(n) : null;
        if (nextUpdate < DateTimeOffset.UtcNow - ClockSkew)
        {
            throw CliException.Trust($"The CRL from {url} is out of date (nextUpdate {nextUpdate:u}).");
        }
        if (crl.GetRevokedCertificate(leaf.SerialNumber) is not { } entry)
        {
            return new Answer("crl", url, "good", null, null, thisUpdate, nextUpdate);
        }
        var reason = 0;
        if (entry.GetExtensionValue(X509Extensions.ReasonCode) is { } code)
        {
            reason = DerEnumerated.GetInstance(X509ExtensionUtilities.FromExtensionValue(code)).IntValueExact;
        }
        return new Answer("crl", url, "revoked", ReasonName(reason), Utc(entry.RevocationDate), thisUpdate, nextUpdate);
    }

    private static string? OcspUrl(BcCertificate certificate) =>
        certificate.GetExtensionValue(X509Extensions.AuthorityInfoAccess) is { } value
            ? AuthorityInformationAccess.GetInstance(X509ExtensionUtilities.FromExtensionValue(value)).GetAccessDescriptions()
                .Where(d => d.AccessMethod.Equals(AccessDescription.IdADOcsp) && d.AccessLocation.TagNo == GeneralName.UniformResourceIdentifier)
                .Select(d => ((IAsn1String)d.AccessLocation.Name).GetString())
                .FirstOrDefault(u => u.StartsWith("http", StringComparison.OrdinalIgnoreCase))
            : null;

    private static string? CrlUrl(BcCertificate certificate) =>
        certificate.GetExtensionValue(X509Extensions.CrlDistributionPoints) is { } value
            ? CrlDistPoint.GetInstance(X509ExtensionUtilities.FromExtensionValue(value)).GetDistributionPoints()
                .Select(p => p.DistributionPointName)
                .Where(n => n is not null && n.Type == DistributionPointName.FullName)
                .SelectMany(n => GeneralNames.GetInstance(n.Name).GetNames())
                .Where(g => g.TagNo == GeneralName.UniformResourceIdentifier)
                .Select(g => ((IAsn1String)g.Name).GetString())
                .FirstOrDefault(u => u.StartsWith("http", StringComparison.OrdinalIgnoreCase))
            : null;

    private static string ReasonName(int code) => Reasons.TryGetValue(code, out var name) ? name : $"reason {code}";

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));
}
