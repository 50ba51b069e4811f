using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.X509;
using PkiService.Core.Authorities;
using PkiService.Core.Issuance;
using PkiService.Core.Primitives;
using PkiService.Persistence.Entities;

namespace PkiService.Benchmarks.InProcess;

/// <summary>
/// The in-process issuance path cut into its steps (issue 16): PEM decode, CSR parse, CSR signature verify, TBS build
/// and DER encode, the CA signature, and the record the service builds around the certificate. Each step is measured on
/// its own on a P-256 CSR under a P-256 issuing CA, so the sum says where an issuance's time goes.
/// </summary>
[MemoryDiagnoser]
public class IssuanceBreakdownBenchmarks
{
    private BenchmarkCa _ca = null!;
    private IssuingAuthority _authority = null!;
    private string _csrPem = null!;
    private byte[] _csrDer = null!;
    private CertificationRequest _csr = null!;
    private byte[] _csrSpki = null!;
    private byte[] _csrSigned = null!;
    private byte[] _csrSignature = null!;
    private byte[] _tbs = null!;
    private IssuedCertificate _issued = null!;
    private CertificateWriter _writer = null!;
    private readonly PublicationPoints _points = PublicationPoints.ForIssuingCa("http://127.0.0.1:5080");
    private readonly IssuanceGrant _grant = IssuanceGrant.ForService("bench", new NameAuthorization("bench", []), CertificateProfile.Client);

    [GlobalSetup]
    public void Setup()
    {
        _ca = new BenchmarkCa();
        _authority = new IssuingAuthority(_ca.Hierarchy.Issuing, _points, TimeProvider.System);
        _writer = new CertificateWriter(_ca.Hierarchy.Issuing, _points);
        _csrPem = SpeedBenchmarks.Csr("bench");
        PemEncoding.TryFind(_csrPem, out var fields);
        _csrDer = Convert.FromBase64String(_csrPem[fields.Base64Data]);
        _csr = CertificationRequest.FromPem(_csrPem);
        var request = new Pkcs10CertificationRequest(_csrDer);
        _csrSpki = request.GetCertificationRequestInfo().SubjectPublicKeyInfo.GetDerEncoded();
        _csrSigned = request.GetCertificationRequestInfo().GetDerEncoded();
        _csrSignature = request.GetSignatureOctets();
        _issued = _authority.Issue(new IssuanceOrder(SerialNumber.NewRandom(), _csr, _grant, null));
        _tbs = new X509Certificate(_issued.Der).GetTbsCertificate();
    }

    [GlobalCleanup]
    public void Cleanup() => _ca.Dispose();

    [Benchmark(Description = "1 PEM -> DER")]
    public byte[] PemDecode()
    {
        PemEncoding.TryFind(_csrPem, out var fields);
        return Convert.FromBase64String(_csrPem[fields.Base64Data]);
    }

    [Benchmark(Description = "2 CSR parse (BouncyCastle Pkcs10CertificationRequest)")]
    public object CsrParse()
    {
        var request = new Pkcs10CertificationRequest(_csrDer);
        return request.GetCertificationRequestInfo().SubjectPublicKeyInfo;
    }

    [Benchmark(Description = "3 before: CSR signature verify (.NET ECDsa import + verify)")]
    public bool CsrVerify()
    {
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportSubjectPublicKeyInfo(_csrSpki, out _);
        return ecdsa.VerifyData(_csrSigned, _csrSignature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    [Benchmark(Description = "3c CSR signature verify (BouncyCastle ECDSA)")]
    public bool CsrVerifyBouncyCastle()
    {
        var key = Org.BouncyCastle.Security.PublicKeyFactory.CreateKey(_csrSpki);
        var signer = Org.BouncyCastle.Security.SignerUtilities.GetSigner("SHA-256withECDSA");
        signer.Init(false, key);
        signer.BlockUpdate(_csrSigned, 0, _csrSigned.Length);
        return signer.VerifySignature(_csrSignature);
    }

    private ECDsa _imported = null!;

    [Benchmark(Description = "3d .NET ECDsa import only")]
    public int CsrImportOnly()
    {
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportSubjectPublicKeyInfo(_csrSpki, out _);
        return ecdsa.KeySize;
    }

    [Benchmark(Description = "3e .NET ECDsa verify only (key imported once)")]
    public bool CsrVerifyOnly()
    {
        if (_imported is null)
        {
            _imported = ECDsa.Create();
            _imported.ImportSubjectPublicKeyInfo(_csrSpki, out _);
        }
        return _imported.VerifyData(_csrSigned, _csrSignature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    [Benchmark(Description = "1-3 after: CertificationRequest.FromPem")]
    public CertificationRequest CsrFromPem() => CertificationRequest.FromPem(_csrPem);

    [Benchmark(Description = "3 after: CSR signature verify (OpenSslEcdsaVerifier)")]
    public bool? CsrVerifyDirect()
    {
        var point = Org.BouncyCastle.Asn1.X509.SubjectPublicKeyInfo.GetInstance(_csrSpki).PublicKey.GetOctets();
        return OpenSslEcdsaVerifier.TryVerify(point, 256, _csrSigned, _csrSignature, HashAlgorithmName.SHA256);
    }

    [Benchmark(Description = "1-3 before: CertificationRequest.FromPem (platform verifier)")]
    public CertificationRequest CsrFromPemBefore() => CertificationRequest.FromPem(_csrPem, platformVerifier: true);

    [Benchmark(Description = "4+5 after: TBS build + DER encode (CertificateWriter.WriteTbs)")]
    public byte[] TbsWrite() => _writer.WriteTbs(_authority.Prepare(new IssuanceOrder(SerialNumber.NewRandom(), _csr, _grant, null)));

    [Benchmark(Description = "4-6 before: BouncyCastle X509V3CertificateGenerator + sign")]
    public IssuedCertificate IssueBefore() => PkiService.Core.Tests.TestSupport.BouncyCastleCertificateReference.Issue(_ca.Hierarchy.Issuing, _points,
        _authority.Prepare(new IssuanceOrder(SerialNumber.NewRandom(), _csr, _grant, null)));

    [Benchmark(Description = "1-6 before: whole in-process issue from PEM")]
    public IssuedCertificate WholeBefore() => PkiService.Core.Tests.TestSupport.BouncyCastleCertificateReference.Issue(_ca.Hierarchy.Issuing, _points,
        _authority.Prepare(new IssuanceOrder(SerialNumber.NewRandom(), CertificationRequest.FromPem(_csrPem, platformVerifier: true), _grant, null)));

    [Benchmark(Description = "6 CA signature (ECDSA P-256 over the TBS)")]
    public byte[] Sign() => ((DotNetSignatureFactory)_ca.Hierarchy.Issuing.SignatureFactory).Sign(_tbs);

    [Benchmark(Description = "4-6 after: IssuingAuthority.Issue from a verified CSR")]
    public IssuedCertificate Issue() => _authority.Issue(new IssuanceOrder(SerialNumber.NewRandom(), _csr, _grant, null));

    [Benchmark(Description = "7 record the service builds (CertificateIssuer)")]
    public CertificateRecord Record() => new()
    {
        SerialNumber = _issued.SerialNumber.Hex,
        IssuerFingerprint = _ca.Hierarchy.Issuing.Fingerprint,
        Subject = _issued.Subject,
        CommonName = _issued.CommonName,
        SubjectAltNames = _issued.SubjectAltNames.Select(s => s.Value).ToList(),
        Profile = _issued.Profile,
        NotBefore = _issued.NotBefore.UtcDateTime,
        NotAfter = _issued.NotAfter.UtcDateTime,
        IssuedAt = DateTime.UtcNow,
        Status = CertificateStatus.Active,
        Der = _issued.Der,
    };

    [Benchmark(Description = "1-6 after: whole in-process issue from PEM")]
    public IssuedCertificate Whole() =>
        _authority.Issue(new IssuanceOrder(SerialNumber.NewRandom(), CertificationRequest.FromPem(_csrPem), _grant, null));
}
