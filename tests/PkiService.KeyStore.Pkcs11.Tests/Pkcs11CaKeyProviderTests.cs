using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Net.Pkcs11Interop.Common;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using PkiService.Core.Authorities;
using PkiService.Tests.Shared;
using Xunit.Abstractions;

namespace PkiService.KeyStore.Pkcs11.Tests;

/// <summary>The PKCS#11 key provider against a real SoftHSM2 token, one fresh token per test.</summary>
[Collection(SoftHsmCollection.Name)]
public sealed class Pkcs11CaKeyProviderTests(SoftHsm hsm, ITestOutputHelper output)
{
    [SkippableTheory]
    [InlineData(CaKeyAlgorithm.EcdsaP256, "ECDSA", 256)]
    [InlineData(CaKeyAlgorithm.EcdsaP384, "ECDSA", 384)]
    [InlineData(CaKeyAlgorithm.Rsa2048, "RSA", 2048)]
    public void CreateKey_SelfSignedCertificate_VerifiesWithItsPublicKey(CaKeyAlgorithm algorithm, string type, int keySize)
    {
        var label = hsm.CreateToken();
        using var provider = new Pkcs11CaKeyProvider(SoftHsm.Options(label));

        using var key = provider.CreateKey("root-ca", algorithm);
        var der = SelfSign(key, "Test Root");
        provider.Save("root-ca", der, key);

        Assert.Equal(keySize, key.KeySize);
        Assert.Equal(type, key is ECDsa ? "ECDSA" : key is RSA ? "RSA" : "?");
        var certificate = new X509CertificateParser().ReadCertificate(der);
        certificate.Verify(certificate.GetPublicKey()); // BouncyCastle: throws when the signature is wrong
        // And the platform, from the certificate's own public key.
        using var platform = X509CertificateLoader.LoadCertificate(der);
        var tbs = certificate.GetTbsCertificate();
        var signature = certificate.GetSignature();
        var verified = key is ECDsa
            ? platform.GetECDsaPublicKey()!.VerifyData(tbs, signature, keySize == 256 ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA384, DSASignatureFormat.Rfc3279DerSequence)
            : platform.GetRSAPublicKey()!.VerifyData(tbs, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        Assert.True(verified);
        // And openssl, a third parser: the self-signed CA verifies against itself.
        var pem = Path.Combine(Path.GetTempPath(), $"pkcs11-{label}.pem");
        try
        {
            File.WriteAllText(pem, platform.ExportCertificatePem());
            Assert.Contains("OK", hsm.Run(SoftHsm.Openssl(), "verify", "-x509_strict", "-CAfile", pem, pem), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(pem);
        }
    }

    [SkippableFact]
    public void SignHash_RsaPss_VerifiesInSoftware()
    {
        var label = hsm.CreateToken();
        using var provider = new Pkcs11CaKeyProvider(SoftHsm.Options(label));
        using var key = (RSA)provider.CreateKey("pss", CaKeyAlgorithm.Rsa2048);
        using var software = RSA.Create(key.ExportParameters(false));

        foreach (var hash in new[] { HashAlgorithmName.SHA256, HashAlgorithmName.SHA384, HashAlgorithmName.SHA512 })
        {
            var data = RandomNumberGenerator.GetBytes(100);
            Assert.True(software.VerifyData(data, key.SignData(data, hash, RSASignaturePadding.Pss), hash, RSASignaturePadding.Pss), $"PSS {hash.Name}");
            Assert.True(software.VerifyData(data, key.SignData(data, hash, RSASignaturePadding.Pkcs1), hash, RSASignaturePadding.Pkcs1), $"PKCS1 {hash.Name}");
        }
    }

    [SkippableFact]
    public async Task Sign_32InParallelOnFourSessions_AllVerify()
    {
        var label = hsm.CreateToken();
        using var provider = new Pkcs11CaKeyProvider(SoftHsm.Options(label, sessionPoolSize: 4));
        using var key = (ECDsa)provider.CreateKey("issuing-ca", CaKeyAlgorithm.EcdsaP256);
        var factory = new DotNetSignatureFactory(key);
        using var start = new Barrier(32);

        var results = await Task.WhenAll(Enumerable.Range(0, 32).Select(i => Task.Factory.StartNew(() =>
        {
            var data = RandomNumberGenerator.GetBytes(64 + i);
            start.SignalAndWait();
            return (Data: data, Signature: factory.Sign(data));
        }, TaskCreationOptions.LongRunning)));

        Assert.All(results, r => Assert.True(key.VerifyData(r.Data, r.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)));
    }

    [SkippableFact]
    public void TryLoad_AfterRestart_FindsTheSameKeyAndCertificate()
    {
        var label = hsm.CreateToken();
        byte[] der;
        ECParameters publicKey;
        using (var first = new Pkcs11CaKeyProvider(SoftHsm.Options(label)))
        {
            Assert.Null(first.TryLoad("issuing-ca"));
            using var key = first.CreateKey("issuing-ca", CaKeyAlgorithm.EcdsaP384);
            der = SelfSign(key, "Issuing");
            first.Save("issuing-ca", der, key);
            publicKey = ((ECDsa)key).ExportParameters(false);
        }

        using var second = new Pkcs11CaKeyProvider(SoftHsm.Options(label));
        var loaded = second.TryLoad("issuing-ca");

        Assert.NotNull(loaded);
        Assert.Equal(der, loaded.CertificateDer);
        var ec = Assert.IsType<Pkcs11ECDsa>(loaded.Key);
        Assert.Equal(publicKey.Q.X, ec.ExportParameters(false).Q.X);
        Assert.Equal(384, ec.KeySize);
        var data = RandomNumberGenerator.GetBytes(32);
        var signature = new DotNetSignatureFactory(ec).Sign(data);
        Assert.True(new X509CertificateParser().ReadCertificate(der).GetPublicKey() is { } bcKey
            && SignerUtilities.GetSigner("SHA384withECDSA") is { } verifier
            && Verify(verifier, bcKey, data, signature));
        Assert.Null(second.TryLoad("no-such-ca"));
        loaded.Key.Dispose();
    }

    [SkippableFact]
    public void CreateKey_PrivateKey_IsSensitiveAndNeverExtractable()
    {
        hsm.RequirePkcs11Tool();
        var label = hsm.CreateToken();
        using var provider = new Pkcs11CaKeyProvider(SoftHsm.Options(label));
        using var key = provider.CreateKey("root-ca", CaKeyAlgorithm.EcdsaP256);
        provider.Save("root-ca", SelfSign(key, "Root"), key);

        // Through the API: the attributes the provider set.
        var attributes = provider.Token.Run(session =>
        {
            var handle = session.FindAllObjects(
            [
                provider.Token.Factories.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY),
                provider.Token.Factories.ObjectAttributeFactory.Create(CKA.CKA_LABEL, "root-ca"),
            ]).Single();
            return session.GetAttributeValue(handle, [CKA.CKA_SENSITIVE, CKA.CKA_EXTRACTABLE, CKA.CKA_NEVER_EXTRACTABLE, CKA.CKA_TOKEN, CKA.CKA_SIGN, CKA.CKA_DECRYPT, CKA.CKA_UNWRAP, CKA.CKA_DERIVE])
                .Select(a => a.GetValueAsBool()).ToArray();
        });
        Assert.Equal([true, false, true, true, true, false, false, false], attributes); // signs, and only signs

        // Through OpenSC's pkcs11-tool, an independent PKCS#11 client.
        var listing = hsm.Run(hsm.Pkcs11Tool!, "--module", SoftHsm.LibraryPath, "--token-label", label, "--login", "--pin", SoftHsm.Pin, "--list-objects");
        output.WriteLine(listing);
        // pkcs11-tool prints each object as a heading line ("Private Key Object; EC") and indented attribute lines.
        var privateKey = Objects(listing).Single(block => block.StartsWith("Private Key Object", StringComparison.Ordinal));
        Assert.Contains("label:      root-ca", privateKey, StringComparison.Ordinal);
        var access = privateKey.Split('\n').Single(line => line.TrimStart().StartsWith("Access:", StringComparison.Ordinal));
        Assert.Contains("never extractable", access, StringComparison.Ordinal);
        Assert.Contains("sensitive", access, StringComparison.Ordinal);
        Assert.DoesNotContain(", extractable", access, StringComparison.Ordinal);
        var usage = privateKey.Split('\n').Single(line => line.TrimStart().StartsWith("Usage:", StringComparison.Ordinal));
        Assert.Equal("Usage:      sign", usage.Trim()); // not decrypt or unwrap, as module defaults would allow
        Assert.Contains("Certificate Object", listing, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void ExportParameters_PrivateParameters_ThrowsBecauseTheKeyStaysInTheModule()
    {
        var label = hsm.CreateToken();
        using var provider = new Pkcs11CaKeyProvider(SoftHsm.Options(label));
        using var ec = (ECDsa)provider.CreateKey("ec", CaKeyAlgorithm.EcdsaP256);
        using var rsa = (RSA)provider.CreateKey("rsa", CaKeyAlgorithm.Rsa2048);

        Assert.Contains("stays in the module", Assert.Throws<CryptographicException>(() => ec.ExportParameters(true)).Message, StringComparison.Ordinal);
        Assert.Throws<CryptographicException>(() => rsa.ExportParameters(true));
        Assert.Throws<CryptographicException>(() => ec.ExportECPrivateKey());
        Assert.Throws<CryptographicException>(() => rsa.ExportPkcs8PrivateKey());
        Assert.NotNull(ec.ExportParameters(false).Q.X);
        Assert.NotNull(rsa.ExportParameters(false).Modulus);
    }

    [SkippableFact]
    public void Open_WrongPin_OneLineNamingPkcs11Pin()
    {
        var label = hsm.CreateToken();
        const string wrongPin = "not-the-pin-1234";

        var error = Assert.Throws<Pkcs11ConfigurationException>(() => new Pkcs11CaKeyProvider(SoftHsm.Options(label, pin: wrongPin)));

        output.WriteLine(error.Message);
        AssertOneLine(error.Message);
        Assert.StartsWith("Pkcs11:Pin is wrong", error.Message, StringComparison.Ordinal);
        Assert.Contains(label, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongPin, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(SoftHsm.Pin, error.ToString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Open_UnknownTokenLabel_OneLineNamingPkcs11TokenLabelAndTheLabelsFound()
    {
        var label = hsm.CreateToken();

        var error = Assert.Throws<Pkcs11ConfigurationException>(() => new Pkcs11CaKeyProvider(SoftHsm.Options("no-such-token")));

        output.WriteLine(error.Message);
        AssertOneLine(error.Message);
        Assert.StartsWith("Pkcs11:TokenLabel: no token labelled 'no-such-token'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{label}'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(SoftHsm.Pin, error.ToString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Open_MissingOrUnloadableLibrary_OneLineNamingPkcs11LibraryAndThePath()
    {
        hsm.Require();
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir", "libnothing.so");
        var notAModule = Path.GetTempFileName();
        try
        {
            File.WriteAllText(notAModule, "not a shared object");

            var absent = Assert.Throws<Pkcs11ConfigurationException>(() => new Pkcs11CaKeyProvider(SoftHsm.Options("any", library: missing)));
            var garbage = Assert.Throws<Pkcs11ConfigurationException>(() => new Pkcs11CaKeyProvider(SoftHsm.Options("any", library: notAModule)));

            output.WriteLine(absent.Message);
            output.WriteLine(garbage.Message);
            foreach (var (error, path) in new[] { (absent, missing), (garbage, notAModule) })
            {
                AssertOneLine(error.Message);
                Assert.StartsWith("Pkcs11:Library", error.Message, StringComparison.Ordinal);
                Assert.Contains(path, error.Message, StringComparison.Ordinal);
                Assert.DoesNotContain(SoftHsm.Pin, error.ToString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(notAModule);
        }
    }

    [SkippableFact]
    public void Sign_AfterTheModuleClosedAllSessions_ReconnectsAndSigns()
    {
        var label = hsm.CreateToken();
        using var provider = new Pkcs11CaKeyProvider(SoftHsm.Options(label));
        using var key = (ECDsa)provider.CreateKey("issuing-ca", CaKeyAlgorithm.EcdsaP256);
        var hash = SHA256.HashData("before"u8);
        Assert.True(key.VerifyHash(hash, key.SignHash(hash)));

        // C_CloseAllSessions: every session of this process on the token is gone, and with the last one the login.
        provider.Token.CloseAllSessions();

        var after = SHA256.HashData("after"u8);
        Assert.True(key.VerifyHash(after, key.SignHash(after)));
        Assert.Equal(1, provider.Token.Reconnects);
        Assert.True(key.VerifyHash(after, key.SignHash(after)));
        Assert.Equal(1, provider.Token.Reconnects);
    }

    [SkippableFact]
    public void CreateKey_LeftoverKeyWithoutCertificate_IsReplaced()
    {
        var label = hsm.CreateToken();
        using var provider = new Pkcs11CaKeyProvider(SoftHsm.Options(label));
        using var leftover = (ECDsa)provider.CreateKey("issuing-ca", CaKeyAlgorithm.EcdsaP256); // a start that stopped before Save

        Assert.Null(provider.TryLoad("issuing-ca"));
        using var key = (ECDsa)provider.CreateKey("issuing-ca", CaKeyAlgorithm.EcdsaP256);
        provider.Save("issuing-ca", SelfSign(key, "Issuing"), key);

        Assert.Equal(1, CountObjects(provider, CKO.CKO_PRIVATE_KEY, "issuing-ca"));
        Assert.Equal(1, CountObjects(provider, CKO.CKO_PUBLIC_KEY, "issuing-ca"));
        var loaded = provider.TryLoad("issuing-ca")!;
        Assert.Equal(key.ExportParameters(false).Q.X, ((ECDsa)loaded.Key).ExportParameters(false).Q.X);
        loaded.Key.Dispose();
    }

    [SkippableFact]
    public void Save_NewKeyForTheSameName_ReplacesTheEarlierCertificateAndKey()
    {
        var label = hsm.CreateToken();
        using var provider = new Pkcs11CaKeyProvider(SoftHsm.Options(label));
        using var old = provider.CreateKey("issuing-ca", CaKeyAlgorithm.EcdsaP256);
        provider.Save("issuing-ca", SelfSign(old, "Old"), old);

        using var renewed = provider.CreateKey("issuing-ca", CaKeyAlgorithm.Rsa2048);
        Assert.NotNull(provider.TryLoad("issuing-ca")); // the old CA stays usable until its successor is saved
        var der = SelfSign(renewed, "New");
        provider.Save("issuing-ca", der, renewed);

        var loaded = provider.TryLoad("issuing-ca")!;
        Assert.Equal(der, loaded.CertificateDer);
        Assert.IsType<Pkcs11Rsa>(loaded.Key);
        Assert.Equal(1, CountObjects(provider, CKO.CKO_CERTIFICATE, "issuing-ca"));
        Assert.Equal(1, CountObjects(provider, CKO.CKO_PRIVATE_KEY, "issuing-ca"));
        loaded.Key.Dispose();
    }

    [SkippableTheory]
    [InlineData("ec")]
    [InlineData("rsa")]
    public void Save_SoftwareKey_IsImportedNotExtractableAndSignsAfterRestart(string type)
    {
        var label = hsm.CreateToken();
        using AsymmetricAlgorithm software = type == "ec" ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : RSA.Create(2048);
        var der = SelfSign(software, "Imported");
        using (var provider = new Pkcs11CaKeyProvider(SoftHsm.Options(label)))
        {
            provider.Save("imported-ca", der, software);
        }

        using var restarted = new Pkcs11CaKeyProvider(SoftHsm.Options(label));
        var loaded = restarted.TryLoad("imported-ca")!;
        Assert.Equal(der, loaded.CertificateDer);
        Assert.Equal(software.ExportSubjectPublicKeyInfo(), loaded.Key.ExportSubjectPublicKeyInfo());
        var data = RandomNumberGenerator.GetBytes(48);
        var signature = new DotNetSignatureFactory(loaded.Key).Sign(data);
        Assert.True(software is ECDsa ec
            ? ec.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)
            : ((RSA)software).VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        var flags = restarted.Token.Run(session => session.GetAttributeValue(
            session.FindAllObjects(
            [
                restarted.Token.Factories.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY),
                restarted.Token.Factories.ObjectAttributeFactory.Create(CKA.CKA_LABEL, "imported-ca"),
            ]).Single(),
            [CKA.CKA_SENSITIVE, CKA.CKA_EXTRACTABLE]).Select(a => a.GetValueAsBool()).ToArray());
        Assert.Equal([true, false], flags);
        loaded.Key.Dispose();
    }

    [SkippableFact]
    public void TryLoad_CertificateOfAnotherKey_ThrowsNamingTheCa()
    {
        var label = hsm.CreateToken();
        using var provider = new Pkcs11CaKeyProvider(SoftHsm.Options(label));
        using var key = (Pkcs11ECDsa)provider.CreateKey("issuing-ca", CaKeyAlgorithm.EcdsaP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var foreignDer = SelfSign(other, "Impostor");
        Assert.Throws<ArgumentException>(() => provider.Save("issuing-ca", foreignDer, key));

        // Put the foreign certificate into the token under the key's label and CKA_ID, as a careless tool could.
        provider.Token.Run(session => session.CreateObject(
        [
            provider.Token.Factories.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_CERTIFICATE),
            provider.Token.Factories.ObjectAttributeFactory.Create(CKA.CKA_CERTIFICATE_TYPE, CKC.CKC_X_509),
            provider.Token.Factories.ObjectAttributeFactory.Create(CKA.CKA_TOKEN, true),
            provider.Token.Factories.ObjectAttributeFactory.Create(CKA.CKA_LABEL, "issuing-ca"),
            provider.Token.Factories.ObjectAttributeFactory.Create(CKA.CKA_ID, key.Id),
            provider.Token.Factories.ObjectAttributeFactory.Create(CKA.CKA_SUBJECT, new X509CertificateParser().ReadCertificate(foreignDer).SubjectDN.GetEncoded()),
            provider.Token.Factories.ObjectAttributeFactory.Create(CKA.CKA_VALUE, foreignDer),
        ]));

        var error = Assert.Throws<CryptographicException>(() => provider.TryLoad("issuing-ca"));
        output.WriteLine(error.Message);
        Assert.Contains("'issuing-ca'", error.Message, StringComparison.Ordinal);
        Assert.Contains("does not match", error.Message, StringComparison.Ordinal);
    }

    private static int CountObjects(Pkcs11CaKeyProvider provider, CKO objectClass, string label) => provider.Token.Run(session => session.FindAllObjects(
    [
        provider.Token.Factories.ObjectAttributeFactory.Create(CKA.CKA_CLASS, objectClass),
        provider.Token.Factories.ObjectAttributeFactory.Create(CKA.CKA_LABEL, label),
    ]).Count);

    private static List<string> Objects(string listing)
    {
        var objects = new List<string>();
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (char.IsWhiteSpace(line[0]) && objects.Count > 0)
            {
                objects[^1] += "\n" + line;
            }
            else
            {
                objects.Add(line);
            }
        }
        return objects;
    }

    private static void AssertOneLine(string message)
    {
        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain('\r', message);
    }

    private static bool Verify(Org.BouncyCastle.Crypto.ISigner verifier, Org.BouncyCastle.Crypto.AsymmetricKeyParameter key, byte[] data, byte[] signature)
    {
        verifier.Init(false, key);
        verifier.BlockUpdate(data, 0, data.Length);
        return verifier.VerifySignature(signature);
    }

    /// <summary>A self-signed CA certificate for <paramref name="key"/>, signed through <see cref="DotNetSignatureFactory"/>.</summary>
    internal static byte[] SelfSign(AsymmetricAlgorithm key, string commonName)
    {
        var generator = new X509V3CertificateGenerator();
        var name = new X509Name($"CN={commonName}");
        generator.SetSerialNumber(new BigInteger(1, RandomNumberGenerator.GetBytes(16)));
        generator.SetIssuerDN(name);
        generator.SetSubjectDN(name);
        generator.SetNotBefore(DateTime.UtcNow.AddMinutes(-1));
        generator.SetNotAfter(DateTime.UtcNow.AddYears(1));
        generator.SetPublicKey(PublicKeyFactory.CreateKey(key.ExportSubjectPublicKeyInfo()));
        generator.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(true));
        return generator.Generate(new DotNetSignatureFactory(key)).GetEncoded();
    }
}
