namespace PkiService.Core.Tests.TestSupport;

/// <summary>
/// CSRs made by the openssl command line, the way operators make them, from keys generated once per test class
/// (RSA keys take a while): <c>rsa.key</c> (rsaEncryption 2048), <c>ec.key</c> (P-256), <c>rsa-pss.key</c>
/// (<c>openssl genpkey -algorithm RSA-PSS</c>, no parameter restrictions), <c>rsa-pss-sha256.key</c> (restricted to
/// SHA-256, MGF1-SHA-256, salt at least 32) and <c>rsa-pss-mgf1-sha1.key</c> (restricted to SHA-256 with openssl's
/// default MGF1-SHA-1).
/// </summary>
public sealed class OpenSslCsrs : IDisposable
{
    private readonly TemporaryDirectory _directory = new();

    public OpenSslCsrs()
    {
        if (!OpenSsl.IsAvailable)
        {
            return;
        }
        Generate("rsa.key", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048");
        Generate("ec.key", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256");
        Generate("rsa-pss.key", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048");
        Generate("rsa-pss-sha256.key", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048",
            "-pkeyopt", "rsa_pss_keygen_md:sha256", "-pkeyopt", "rsa_pss_keygen_mgf1_md:sha256", "-pkeyopt", "rsa_pss_keygen_saltlen:32");
        Generate("rsa-pss-mgf1-sha1.key", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048", "-pkeyopt", "rsa_pss_keygen_md:sha256");
    }

    /// <summary><c>openssl req -new -key &lt;key&gt; -subj /CN=&lt;commonName&gt; &lt;options&gt;</c>; returns the PEM.</summary>
    public string Create(string key, string commonName, params string[] options)
    {
        var output = System.IO.Path.Combine(_directory.Path, $"{Guid.NewGuid():N}.csr");
        var (exit, text) = OpenSsl.Run(["req", "-new", "-key", System.IO.Path.Combine(_directory.Path, key), "-subj", $"/CN={commonName}", .. options, "-out", output]);
        Assert.True(exit == 0, text);
        return File.ReadAllText(output);
    }

    /// <summary>Whether <c>openssl req -verify</c> says the CSR's self-signature verifies.</summary>
    public bool OpenSslVerifies(string pem)
    {
        var file = _directory.Write($"{Guid.NewGuid():N}.csr", pem);
        var (exit, text) = OpenSsl.Run("req", "-verify", "-noout", "-in", file);
        return exit == 0 && text.Contains("verify OK", StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Dispose();

    private void Generate(string name, params string[] options)
    {
        var (exit, text) = OpenSsl.Run(["genpkey", .. options, "-out", System.IO.Path.Combine(_directory.Path, name)]);
        Assert.True(exit == 0, text);
    }
}
