using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using PkiService.AspNetCore.Diagnostics;
using PkiService.AspNetCore.Identity;

namespace PkiService.AspNetCore.Refusals;

/// <summary>Where a refusal happened: the TLS handshake, the per-request check, or an endpoint's policy.</summary>
internal enum RefusalStage
{
    Handshake,
    Request,
    Authorization,
}

/// <summary>
/// Records every refusal the same way: one structured log event (serial, subject, reason, stage) and one count on
/// <see cref="PkiClientMetrics"/>. The client learns nothing from it (a TLS alert or a bare 403).
/// </summary>
internal sealed partial class ClientCertificateRefusals(ILogger<ClientCertificateRefusals> logger, PkiClientMetrics metrics)
{
    public void Refuse(X509Certificate2? certificate, RefusalReason reason, RefusalStage stage)
    {
        string serial = "", subject = "";
        if (certificate is not null)
        {
            var info = ClientCertificateInfo.Of(certificate);
            serial = info.SerialNumber;
            subject = info.Subject;
        }
        Refused(logger, serial, subject, reason.Name(), stage);
        metrics.CountRefusal(reason);
    }

    /// <summary>FailClosed is false and the status is unknown: accepted, and said so.</summary>
    public void AcceptUnknown(X509Certificate2 certificate)
    {
        var info = ClientCertificateInfo.Of(certificate);
        AcceptedWithUnknownStatus(logger, info.SerialNumber, info.Subject);
    }

    [LoggerMessage(EventId = 1201, EventName = "PkiClientCertificateRefused", Level = LogLevel.Warning,
        Message = "Client certificate refused at the {Stage}: serial {SerialNumber}, subject '{Subject}', reason {Reason}")]
    private static partial void Refused(ILogger logger, string serialNumber, string subject, string reason, RefusalStage stage);

    [LoggerMessage(EventId = 1202, EventName = "PkiClientCertificateStatusUnknownAccepted", Level = LogLevel.Warning,
        Message = "Client certificate accepted although its revocation status is unknown (PkiClient:FailClosed is false): serial {SerialNumber}, subject '{Subject}'")]
    private static partial void AcceptedWithUnknownStatus(ILogger logger, string serialNumber, string subject);
}
