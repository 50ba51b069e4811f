using PkiService.Api.Features.ApiKeys;
using PkiService.Api.Features.Audit;
using PkiService.Api.Features.CaCertificates;
using PkiService.Api.Features.Certificates;
using PkiService.Api.Features.Crl;
using PkiService.Api.Features.Enrollment;
using PkiService.Api.Features.Expiry;
using PkiService.Api.Features.Ocsp;
using PkiService.Api.Features.Renewal;
using PkiService.Api.Features.Revocation;
using PkiService.Api.Infrastructure;

var builder = WebApplication.CreateBuilder(args);
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
app.MapOcspEndpoints();
app.MapExpiryEndpoints();
app.MapApiKeyEndpoints();
app.MapAuditEndpoints();
app.MapBenchmarkEndpoints(app.Configuration);
app.MapRenewalEndpoints();

await app.InitializePkiAsync();
app.ReleaseStartupMemory();
await app.RunAsync();

/// <summary>The web host's entry point (public so integration tests can start it).</summary>
public partial class Program;
