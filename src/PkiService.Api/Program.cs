using PkiService.Api.Commands.Ca;
using PkiService.Api.Commands.CopyDatabase;
using PkiService.Api.Features.ApiKeys;
using PkiService.Api.Features.Audit;
using PkiService.Api.Features.CaCertificates;
using PkiService.Api.Features.Certificates;
using PkiService.Api.Features.Crl;
using PkiService.Api.Features.Enrollment;
using PkiService.Api.Features.Est;
using PkiService.Api.Features.Expiry;
using PkiService.Api.Features.Ocsp;
using PkiService.Api.Features.Renewal;
using PkiService.Api.Features.Revocation;
using PkiService.Api.Features.RootCrl;
using PkiService.Api.Features.RevocationStream;
using PkiService.Api.Infrastructure;

if (CopyDatabaseCommand.IsRequested(args))
{
    // An operator's command instead of the service (moving a node's data into PostgreSQL): no web host is built.
    return await CopyDatabaseCommand.RunAsync(args, Console.Out, Console.Error);
}
if (CaCommand.IsRequested(args))
{
    // The offline-root ceremony and bringing an existing CA: against the configured key store, no web host is started.
    return CaCommand.Run(args, Console.Out, Console.Error);
}

// appsettings.json is read from beside the assembly, whatever the working directory (a relative Pki:DataDirectory
// still resolves against the working directory).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
if (PkiStartup.IsOwnProcess)
{
    // Before any socket operation: the runtime reads this once (issue 16, a new connection per request).
    SocketCompletions.PreferInline(builder.Configuration);
}
builder.AddPkiServices();

var app = builder.Build();
app.UsePkiPipeline();

app.MapHealthEndpoints();
app.MapMetricsEndpoint();
app.MapCaCertificateEndpoints();
app.MapEnrollmentEndpoints();
app.MapCertificateEndpoints();
app.MapRevocationEndpoints();
app.MapCrlEndpoints();
app.MapRootCrlEndpoints();
app.MapOcspEndpoints();
app.MapRevocationStreamEndpoints();
app.MapExpiryEndpoints();
app.MapApiKeyEndpoints();
app.MapAuditEndpoints();
app.MapBenchmarkEndpoints(app.Configuration);
app.MapRenewalEndpoints();
app.MapEstEndpoints();

try
{
    await app.InitializePkiAsync();
}
catch (StartupConfigurationException error) when (PkiStartup.IsOwnProcess)
{
    // An operator's setting stopped the start: one line that names it, exit code 1, no stack trace.
    await Console.Error.WriteLineAsync(error.Message);
    return StartupConfigurationException.ExitCode;
}
app.ReleaseStartupMemory();
await app.RunAsync();
return 0;

/// <summary>The web host's entry point (public so integration tests can start it).</summary>
public partial class Program;
