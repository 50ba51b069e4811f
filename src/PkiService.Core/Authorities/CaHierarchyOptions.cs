namespace PkiService.Core.Authorities;

/// <summary>How the root and issuing CA are created on first start.</summary>
public sealed class CaHierarchyOptions
{
    /// <summary>Subject of the root CA certificate.</summary>
    public string RootSubject { get; set; } = "O=PkiService,CN=PkiService Root CA";

    /// <summary>Subject of the issuing CA certificate.</summary>
    public string IssuingSubject { get; set; } = "O=PkiService,CN=PkiService Issuing CA";

    /// <summary>Root key algorithm; ECDSA P-384 by default.</summary>
    public CaKeyAlgorithm RootAlgorithm { get; set; } = CaKeyAlgorithm.EcdsaP384;

    /// <summary>Issuing CA key algorithm; ECDSA P-256 by default (it signs every certificate, and P-256 is fastest).</summary>
    public CaKeyAlgorithm IssuingAlgorithm { get; set; } = CaKeyAlgorithm.EcdsaP256;

    /// <summary>Root validity; 10 years.</summary>
    public TimeSpan RootValidity { get; set; } = TimeSpan.FromDays(3653);

    /// <summary>Issuing CA validity; 5 years.</summary>
    public TimeSpan IssuingValidity { get; set; } = TimeSpan.FromDays(1826);

    /// <summary>Base URL written into AIA and CDP extensions, without a trailing slash.</summary>
    public string PublicBaseUrl { get; set; } = "http://127.0.0.1:5080";

}
