using System.Formats.Asn1;

namespace PkiService.Core.Authorities;

/// <summary>
/// Certificates kept without a key: the external root and the intermediates above an installed issuing CA
/// (<c>ca install-issuing</c>). An optional ability of a <see cref="ICaKeyStore"/> (the data directory's files, or the
/// shared database, so every node serves the same chain), whatever holds the keys.
/// </summary>
public interface ICaCertificateStore
{
    /// <summary>The certificates stored under <paramref name="name"/> (DER, in the order saved); null when there are none.</summary>
    IReadOnlyList<byte[]>? TryLoadCertificates(string name);

    /// <summary>Stores <paramref name="certificatesDer"/> under <paramref name="name"/>, replacing any earlier ones.</summary>
    void SaveCertificates(string name, IReadOnlyList<byte[]> certificatesDer);
}

/// <summary>Joins and splits a list of DER certificates kept as one byte string (each is a self-delimiting SEQUENCE).</summary>
public static class CertificateSequence
{
    /// <summary>The certificates one after the other.</summary>
    public static byte[] Join(IReadOnlyList<byte[]> certificatesDer) => [.. certificatesDer.SelectMany(c => c)];

    /// <summary>Splits <paramref name="joined"/> back into the DER certificates it holds.</summary>
    public static List<byte[]> Split(ReadOnlyMemory<byte> joined)
    {
        var reader = new AsnReader(joined, AsnEncodingRules.DER);
        var certificates = new List<byte[]>();
        while (reader.HasData)
        {
            certificates.Add(reader.ReadEncodedValue().ToArray());
        }
        return certificates;
    }
}
