namespace PkiService.Api.Issuance;

/// <summary>The front end a certificate was asked for through; a label on metrics and a word in the audit row.</summary>
public enum IssuanceProtocol
{
    /// <summary>The JSON API: <c>POST /api/v1/enroll</c> and <c>POST /api/v1/renew</c>.</summary>
    Rest,

    /// <summary>EST, RFC 7030 (<c>/.well-known/est/</c>).</summary>
    Est,
}

public static class IssuanceProtocols
{
    /// <summary>The metric label value and audit word: <c>rest</c> or <c>est</c>.</summary>
    public static string Label(this IssuanceProtocol protocol) => protocol switch
    {
        IssuanceProtocol.Rest => "rest",
        IssuanceProtocol.Est => "est",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, null),
    };
}
