using Microsoft.Extensions.Options;

namespace PkiService.Api.Issuance;

/// <summary>
/// What a renewal accepts and when clients are told to renew (section <c>Renewal</c>, shared with the mTLS listener's
/// own settings), from any front end.
/// </summary>
public sealed class RenewalKeyOptions
{
    public const string Section = "Renewal";

    public const double MinimumRenewAfterFraction = 0.1;
    public const double MaximumRenewAfterFraction = 0.95;

    /// <summary>
    /// Whether a renewal may certify the same public key again. Off by default: a renewal must bring a new key (400
    /// otherwise, and the old certificate stays active), as step-ca and EST clients do.
    /// </summary>
    public bool AllowKeyReuse { get; set; }

    /// <summary>
    /// The fraction of a certificate's lifetime after which the enrollment and renewal answers' <c>renewAfter</c> tells
    /// the client to renew (two thirds by default, as step-ca's renewal daemon and cert-manager do).
    /// </summary>
    public double RenewAfterFraction { get; set; } = 0.6667;

    /// <summary>
    /// The request header in which a trusted TLS-terminating proxy (<c>ForwardedHeaders:KnownProxies</c> /
    /// <c>KnownNetworks</c>) forwards the client certificate it verified, as URL-escaped PEM (nginx's
    /// <c>$ssl_client_escaped_cert</c>). See <see cref="ClientCertificateSource"/>.
    /// </summary>
    public string ForwardedCertificateHeader { get; set; } = "X-Forwarded-Client-Cert";

    /// <summary>The settings' problem, as one line that names the key, or null when they can be used.</summary>
    public string? Problem()
    {
        if (!(RenewAfterFraction >= MinimumRenewAfterFraction && RenewAfterFraction <= MaximumRenewAfterFraction))
        {
            return $"Renewal:RenewAfterFraction = {RenewAfterFraction.ToString(System.Globalization.CultureInfo.InvariantCulture)} is out of range; "
                + $"give the fraction of the lifetime after which clients renew, from {MinimumRenewAfterFraction} to {MaximumRenewAfterFraction} (default 0.6667).";
        }
        if (string.IsNullOrWhiteSpace(ForwardedCertificateHeader) || ForwardedCertificateHeader.Any(c => c <= ' ' || c >= 127 || c == ':'))
        {
            return $"Renewal:ForwardedCertificateHeader = '{ForwardedCertificateHeader}' is not a header name; use one such as X-Forwarded-Client-Cert.";
        }
        return null;
    }

    /// <summary>Stops the start (with <see cref="Problem"/>) when the settings cannot be used.</summary>
    public sealed class Validator : IValidateOptions<RenewalKeyOptions>
    {
        public ValidateOptionsResult Validate(string? name, RenewalKeyOptions options) =>
            options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }
}
