using Microsoft.Extensions.Logging;

namespace PkiService.AspNetCore.ServerCertificates;

/// <summary>
/// The server certificate's log events (stable ids 3100-3199). Never the enrollment token, never a key: only serials,
/// names, dates and the problem title PkiService answered with.
/// </summary>
internal static partial class ServerCertificateLog
{
    [LoggerMessage(EventId = 3101, EventName = "ServerCertificateEnrolled", Level = LogLevel.Information,
        Message = "Server certificate enrolled from PkiClient:EnrollmentToken: serial {SerialNumber}, subject {Subject}, names {SubjectAltNames}, notAfter {NotAfter:O}; renewal due at {RenewAt:O}")]
    public static partial void Enrolled(ILogger logger, string serialNumber, string subject, string subjectAltNames, DateTimeOffset notAfter, DateTimeOffset renewAt);

    [LoggerMessage(EventId = 3102, EventName = "ServerCertificateRenewed", Level = LogLevel.Information,
        Message = "Server certificate renewed over mTLS: serial {SerialNumber} replaces {PreviousSerialNumber}, notAfter {NotAfter:O}; next renewal due at {RenewAt:O}")]
    public static partial void Renewed(ILogger logger, string serialNumber, string previousSerialNumber, DateTimeOffset notAfter, DateTimeOffset renewAt);

    [LoggerMessage(EventId = 3103, EventName = "ServerCertificateRenewalFailed", Level = LogLevel.Warning,
        Message = "Server certificate {SerialNumber} could not be renewed at {RenewalUrl} (it expires at {NotAfter:O}); retrying in {RetryIn}: {Reason}")]
    public static partial void RenewalFailed(ILogger logger, string serialNumber, Uri renewalUrl, DateTimeOffset notAfter, TimeSpan retryIn, string reason);

    [LoggerMessage(EventId = 3104, EventName = "ServerCertificateExpired", Level = LogLevel.Error,
        Message = "Server certificate {SerialNumber} expired at {NotAfter:O} and could not be renewed: clients will refuse this API until it is restarted with a new PkiClient:EnrollmentToken")]
    public static partial void Expired(ILogger logger, string serialNumber, DateTimeOffset notAfter);
}
