using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using PkiService.AspNetCore.Identity;
using PkiService.AspNetCore.Refusals;
using PkiService.AspNetCore.Revocation;

namespace PkiService.AspNetCore.Trust;

/// <summary>
/// The check of every request (not only handshakes): the connection's client certificate against the current
/// revocation state and its validity, so a certificate revoked while its kept-alive connection stays open is refused
/// on its next request with a bare 403 (and the connection is then closed). A local hash lookup per request.
/// Requests without a client certificate (a plain HTTP listener) pass: authentication and policies deal with them.
/// </summary>
internal sealed class ClientCertificateRequestCheck(
    RequestDelegate next,
    ClientCertificateValidator validator,
    IRevocationChecker revocation,
    ClientCertificateRefusals refusals)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Connection.ClientCertificate is not { } certificate)
        {
            await next(context);
            return;
        }
        var info = ClientCertificateInfo.Of(certificate);
        var refusal = validator.IsTimeValid(info)
            ? validator.Decide(info, await revocation.CheckAsync(info, context.RequestAborted), logAcceptedUnknown: false)
            : RefusalReason.Expired;
        if (refusal is { } reason)
        {
            refusals.Refuse(certificate, reason, RefusalStage.Request);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
            return;
        }
        await next(context);
    }
}

/// <summary>Puts <see cref="ClientCertificateRequestCheck"/> first in the pipeline, so the application writes no call for it.</summary>
internal sealed class ClientCertificateRequestCheckStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<ClientCertificateRequestCheck>();
        next(app);
    };
}
