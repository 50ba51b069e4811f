using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PkiService.Core.Errors;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;

namespace PkiService.Core.Tests.Issuance;

public sealed class NameAuthorizationTests
{
    private static readonly NameAuthorization Allowed = new("client-1", [SubjectAltName.Classify("spiffe://example.org/client-1"), SubjectAltName.Classify("client-1.example.org")]);

    [Fact]
    public void Resolve_CsrWithoutSans_GetsEveryAuthorizedSan()
    {
        var (cn, sans) = Allowed.Resolve(Csr("CN=client-1"), CertificateProfile.Client);

        Assert.Equal("client-1", cn);
        Assert.Equal(Allowed.SubjectAltNames, sans);
    }

    [Fact]
    public void Resolve_CsrWithSubsetOfSans_GetsOnlyThose()
    {
        var (_, sans) = Allowed.Resolve(Csr("CN=client-1", "spiffe://example.org/client-1"), CertificateProfile.Client);

        Assert.Equal([SubjectAltName.Classify("spiffe://example.org/client-1")], sans);
    }

    [Fact]
    public void Resolve_CsrWithoutCn_GetsAuthorizedCn()
    {
        var (cn, _) = Allowed.Resolve(Csr("O=NoCn"), CertificateProfile.Client);

        Assert.Equal("client-1", cn);
    }

    [Fact]
    public void Resolve_OtherCn_IsRejectedNamingBoth()
    {
        var error = Assert.Throws<CsrRejectedException>(() => Allowed.Resolve(Csr("CN=admin"), CertificateProfile.Client));

        Assert.Equal("The CSR asks for CN 'admin' but the enrollment token allows only CN 'client-1'.", error.Message);
    }

    [Fact]
    public void Resolve_UnauthorizedSan_IsRejected()
    {
        Assert.Throws<CsrRejectedException>(() => Allowed.Resolve(Csr("CN=client-1", "spiffe://example.org/admin"), CertificateProfile.Client));
    }

    [Fact]
    public void Resolve_ServerProfileWithoutAnySan_IsRejected()
    {
        var bare = new NameAuthorization("svc", []);

        Assert.Throws<CsrRejectedException>(() => bare.Resolve(Csr("CN=svc"), CertificateProfile.Server));
    }

    [Fact]
    public void RequireExactly_SameCnAndSansInAnotherOrder_Passes()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        Allowed.RequireExactly(TlsServerCertificate.CreateRequest(key, "client-1", [.. Allowed.SubjectAltNames.Reverse()]));
    }

    [Theory]
    [InlineData("client-2", "spiffe://example.org/client-1,client-1.example.org", "CN 'client-2'")]
    [InlineData("client-1", "spiffe://example.org/client-1", "leaves out subjectAltName 'client-1.example.org'")]
    [InlineData("client-1", "spiffe://example.org/client-1,client-1.example.org,other.example.org", "'other.example.org'")]
    public void RequireExactly_OtherNames_IsRejectedNamingTheDifference(string commonName, string sans, string expected)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = TlsServerCertificate.CreateRequest(key, commonName, sans.Split(',').Select(SubjectAltName.Classify).ToList());

        var error = Assert.Throws<CsrRejectedException>(() => Allowed.RequireExactly(request));

        Assert.Contains(expected, error.Message);
    }

    private static CertificationRequest Csr(string subject, params string[] uris)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        if (uris.Length > 0)
        {
            var sans = new SubjectAlternativeNameBuilder();
            foreach (var uri in uris)
            {
                sans.AddUri(new Uri(uri));
            }
            request.CertificateExtensions.Add(sans.Build());
        }
        return CertificationRequest.FromDer(request.CreateSigningRequest());
    }
}
