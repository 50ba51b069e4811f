using BenchmarkDotNet.Attributes;
using PkiService.Core.Authorities;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;

namespace PkiService.Benchmarks.InProcess;

/// <summary>CSR parse + verify, and issuance from a verified CSR (build + sign through .NET).</summary>
[MemoryDiagnoser]
public class IssuanceBenchmarks
{
    private BenchmarkCa _ca = null!;
    private IssuingAuthority _authority = null!;
    private string _csrPem = null!;
    private CertificationRequest _csr = null!;
    private readonly IssuanceGrant _grant = IssuanceGrant.ForService("bench", new NameAuthorization("bench", []), CertificateProfile.Client);

    [GlobalSetup]
    public void Setup()
    {
        _ca = new BenchmarkCa();
        _authority = new IssuingAuthority(_ca.Hierarchy.Issuing, PublicationPoints.ForIssuingCa("http://127.0.0.1:5080"), TimeProvider.System);
        _csrPem = SpeedBenchmarks.Csr("bench");
        _csr = CertificationRequest.FromPem(_csrPem);
    }

    [GlobalCleanup]
    public void Cleanup() => _ca.Dispose();

    [Benchmark(Description = "CSR parse + verify (P-256)")]
    public CertificationRequest CsrVerify() => CertificationRequest.FromPem(_csrPem);

    [Benchmark(Description = "issue from verified CSR")]
    public IssuedCertificate Issue() =>
        _authority.Issue(new IssuanceOrder(SerialNumber.NewRandom(), _csr, _grant, null));
}
