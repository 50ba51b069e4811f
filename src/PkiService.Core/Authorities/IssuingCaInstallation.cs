using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using PkiService.Core.Primitives;

namespace PkiService.Core.Authorities;

/// <summary>
/// Bringing the issuing CA under an external root: the CSR for a key this service made (<c>ca init-issuing</c>), and
/// the checks a certificate and chain pass before they are installed (<c>ca install-issuing</c>, <c>ca import-issuing</c>).
/// </summary>
public static class IssuingCaInstallation
{
    /// <summary>A PKCS#10 request (RFC 2986) for <paramref name="key"/> under <paramref name="subject"/>, signed by that key, PEM.</summary>
    public static string CreateCsrPem(AsymmetricAlgorithm key, string subject)
    {
        ArgumentNullException.ThrowIfNull(key);
        // RFC 2986 4.1: attributes [0] is not OPTIONAL; an empty set, not an absent field (strict parsers refuse the latter).
        var request = new Pkcs10CertificationRequest(new DotNetSignatureFactory(key), new X509Name(subject), PublicKeyOf(key), new Org.BouncyCastle.Asn1.DerSet());
        return PemEncoding.WriteString("CERTIFICATE REQUEST", request.GetEncoded()) + "\n";
    }

    /// <summary>
    /// A short-lived self-signed certificate that keeps a freshly made key in the key provider until the root's
    /// certificate replaces it (a provider stores a key only with a certificate). It is never served: the hierarchy
    /// refuses to start until <c>ca install-issuing</c> has run.
    /// </summary>
    public static byte[] CreatePlaceholderCertificate(AsymmetricAlgorithm key, string subject, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(key);
        var name = new X509Name(subject);
        var generator = new X509V3CertificateGenerator();
        generator.SetSerialNumber(SerialNumber.NewRandom().ToBouncyCastle());
        generator.SetSubjectDN(name);
        generator.SetIssuerDN(name);
        generator.SetNotBefore(now.AddMinutes(-1));
        generator.SetNotAfter(now.AddDays(30));
        generator.SetPublicKey(PublicKeyOf(key));
        return generator.Generate(new DotNetSignatureFactory(key)).GetEncoded();
    }

    /// <summary>
    /// Checks that <paramref name="issuing"/> certifies <paramref name="key"/>, is a CA that may sign certificates, and
    /// chains through <paramref name="chain"/> (its issuer first, the self-signed root last, at most
    /// <see cref="CaHierarchy.MaxIntermediates"/> intermediates between) with every signature and validity period good
    /// at <paramref name="now"/>. Returns the chain ordered issuer first, root last (the input may be in any order).
    /// </summary>
    /// <exception cref="IssuingCaRefusedException">One line that names what is wrong.</exception>
    public static IReadOnlyList<X509Certificate> Check(X509Certificate issuing, AsymmetricAlgorithm key, IReadOnlyList<X509Certificate> chain, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(issuing);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(chain);
        if (!issuing.GetPublicKey().Equals(PublicKeyOf(key)))
        {
            throw new IssuingCaRefusedException(
                $"The certificate {issuing.SubjectDN} is for another key than this service's issuing CA key; sign the CSR that 'ca init-issuing' wrote.");
        }
        CheckCa(issuing, "The issuing certificate");
        if (chain.Count == 0)
        {
            throw new IssuingCaRefusedException("--chain holds no certificate; give the root (and any intermediates) as PEM.");
        }

        // RFC 5280 6.1: walk from the issuing CA up by issuer name, checking each signature with the issuer's key.
        var ordered = new List<X509Certificate>();
        var remaining = chain.ToList();
        var current = issuing;
        while (true)
        {
            CheckValidity(current, now);
            var issuer = remaining.Find(c => c.SubjectDN.Equivalent(current.IssuerDN) && SignedBy(current, c));
            if (issuer is null)
            {
                if (IsSelfSigned(current) && !ReferenceEquals(current, issuing))
                {
                    break;
                }
                throw new IssuingCaRefusedException(
                    $"The chain is broken: no certificate in --chain issued {current.SubjectDN} (issuer {current.IssuerDN}, or its signature does not verify with that issuer's key).");
            }
            CheckCa(issuer, $"The chain certificate {issuer.SubjectDN}");
            ordered.Add(issuer);
            remaining.Remove(issuer);
            if (IsSelfSigned(issuer))
            {
                CheckValidity(issuer, now);
                break;
            }
            current = issuer;
        }
        if (ordered.Count - 1 > CaHierarchy.MaxIntermediates)
        {
            throw new IssuingCaRefusedException(
                $"The chain has {ordered.Count - 1} intermediates between the issuing CA and the root; at most {CaHierarchy.MaxIntermediates} are supported.");
        }
        return ordered;
    }

    /// <summary>Reads every PEM CERTIFICATE of <paramref name="pem"/>.</summary>
    /// <exception cref="IssuingCaRefusedException">No certificate, or one that does not parse.</exception>
    public static List<X509Certificate> ReadCertificates(string pem, string what)
    {
        var certificates = new List<X509Certificate>();
        var rest = pem.AsSpan();
        try
        {
            while (PemEncoding.TryFind(rest, out var fields))
            {
                if (rest[fields.Label].SequenceEqual("CERTIFICATE"))
                {
                    certificates.Add(new X509CertificateParser().ReadCertificate(Convert.FromBase64String(rest[fields.Base64Data].ToString())));
                }
                rest = rest[fields.Location.End..];
            }
        }
        catch (Exception exception) when (exception is FormatException or Org.BouncyCastle.Security.Certificates.CertificateException or IOException or ArgumentException)
        {
            throw new IssuingCaRefusedException($"{what} holds a certificate that does not parse: {exception.Message}");
        }
        return certificates.Count > 0 ? certificates : throw new IssuingCaRefusedException($"{what} holds no PEM CERTIFICATE.");
    }

    private static void CheckCa(X509Certificate certificate, string what)
    {
        // RFC 5280 4.2.1.9 / 4.2.1.3: a certificate that signs certificates has cA TRUE and keyCertSign.
        if (certificate.GetBasicConstraints() < 0)
        {
            throw new IssuingCaRefusedException($"{what} ({certificate.SubjectDN}) is not a CA: basicConstraints cA is not TRUE.");
        }
        var usage = certificate.GetKeyUsage();
        if (usage is not null && !usage[5])
        {
            throw new IssuingCaRefusedException($"{what} ({certificate.SubjectDN}) may not sign certificates: keyUsage lacks keyCertSign.");
        }
    }

    private static void CheckValidity(X509Certificate certificate, DateTime now)
    {
        if (now < certificate.NotBefore || now > certificate.NotAfter)
        {
            throw new IssuingCaRefusedException(
                $"{certificate.SubjectDN} is not valid now (valid {certificate.NotBefore:O} to {certificate.NotAfter:O}).");
        }
    }

    private static bool IsSelfSigned(X509Certificate certificate) =>
        certificate.SubjectDN.Equivalent(certificate.IssuerDN) && SignedBy(certificate, certificate);

    private static bool SignedBy(X509Certificate certificate, X509Certificate issuer)
    {
        try
        {
            return certificate.IsSignatureValid(issuer.GetPublicKey());
        }
        catch (Exception exception) when (exception is InvalidKeyException or SignatureException or Org.BouncyCastle.Security.Certificates.CertificateException or ArgumentException)
        {
            return false;
        }
    }

    private static Org.BouncyCastle.Crypto.AsymmetricKeyParameter PublicKeyOf(AsymmetricAlgorithm key) => PublicKeyFactory.CreateKey(key switch
    {
        ECDsa ec => ec.ExportSubjectPublicKeyInfo(),
        RSA rsa => rsa.ExportSubjectPublicKeyInfo(),
        _ => throw new NotSupportedException($"Unsupported CA key type {key.GetType().Name}."),
    });
}

/// <summary>A certificate or chain offered for the issuing CA fails a check; the message is one line naming it.</summary>
public sealed class IssuingCaRefusedException(string message) : Exception(message);
