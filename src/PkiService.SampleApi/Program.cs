using System.Security.Claims;
using PkiService.AspNetCore;
using PkiService.SampleApi;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddPkiClient(builder.Configuration);
builder.WebHost.UsePkiClient();
var app = builder.Build();

app.MapGet("/whoami", (ClaimsPrincipal user) => Claims.Of(user)).RequireAuthorization();
app.MapGet("/admin", (ClaimsPrincipal user) => Claims.Of(user)).RequireAuthorization("admins");
app.MapHealthChecks("/health", new() { ResponseWriter = Health.WriteAsync }).AllowAnonymous();
app.Run();
