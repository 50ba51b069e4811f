using System.Text.Json;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Swagger;

/// <summary>The OpenAPI document the Swagger UI renders describes every endpoint, body and response, and the bearer scheme.</summary>
[Collection(ServiceCollection.Name)]
public sealed class OpenApiDocumentTests(ServiceProcess service)
{
    public static readonly TheoryData<string, string> Endpoints = new()
    {
        { "/api/v1/enroll", "post" },
        { "/api/v1/enrollment-tokens", "post" },
        { "/api/v1/certificates", "get" },
        { "/api/v1/certificates/{serial}", "get" },
        { "/pki/ca.crt", "get" },
        { "/pki/ca.pem", "get" },
        { "/pki/chain.pem", "get" },
        { "/pki/root.pem", "get" },
        { "/health/live", "get" },
        { "/health/ready", "get" },
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task SwaggerJson_Endpoint_IsDescribedWithASuccessResponse(string path, string method)
    {
        using var document = await GetDocumentAsync();

        var paths = document.RootElement.GetProperty("paths");
        Assert.True(paths.TryGetProperty(path, out var item), $"{path} is missing; described: {string.Join(", ", paths.EnumerateObject().Select(p => p.Name))}");
        Assert.True(item.TryGetProperty(method, out var operation), $"{method.ToUpperInvariant()} {path} is missing");
        Assert.True(operation.TryGetProperty("summary", out _), $"{method.ToUpperInvariant()} {path} has no summary");
        var responses = operation.GetProperty("responses");
        Assert.Contains(responses.EnumerateObject(), r => r.Name.StartsWith('2'));
    }

    [Theory]
    [InlineData("/api/v1/enroll", "post", "201")]
    [InlineData("/api/v1/enrollment-tokens", "post", "201")]
    [InlineData("/api/v1/certificates", "get", "200")]
    [InlineData("/api/v1/certificates/{serial}", "get", "200")]
    public async Task SwaggerJson_JsonEndpoint_HasResponseSchema(string path, string method, string status)
    {
        using var document = await GetDocumentAsync();

        var operation = document.RootElement.GetProperty("paths").GetProperty(path).GetProperty(method);
        var schema = operation.GetProperty("responses").GetProperty(status).GetProperty("content").GetProperty("application/json").GetProperty("schema");
        AssertSchemaResolves(document.RootElement, schema, $"{method.ToUpperInvariant()} {path} {status}");
    }

    [Theory]
    [InlineData("/api/v1/enroll", "csr")]
    [InlineData("/api/v1/enrollment-tokens", "commonName")]
    public async Task SwaggerJson_PostEndpoint_HasJsonRequestBodySchema(string path, string property)
    {
        using var document = await GetDocumentAsync();

        var body = document.RootElement.GetProperty("paths").GetProperty(path).GetProperty("post").GetProperty("requestBody");
        var schema = body.GetProperty("content").GetProperty("application/json").GetProperty("schema");
        var resolved = AssertSchemaResolves(document.RootElement, schema, $"POST {path} request body");
        Assert.True(resolved.GetProperty("properties").TryGetProperty(property, out _), $"POST {path} request body has no '{property}'");
    }

    [Fact]
    public async Task SwaggerJson_BearerScheme_IsDeclaredAndRequired()
    {
        using var document = await GetDocumentAsync();
        var root = document.RootElement;

        var schemes = root.GetProperty("components").GetProperty("securitySchemes");
        var bearer = schemes.EnumerateObject().Where(s =>
            s.Value.GetProperty("type").GetString() == "http" &&
            string.Equals(s.Value.GetProperty("scheme").GetString(), "bearer", StringComparison.OrdinalIgnoreCase)).ToList();
        var scheme = Assert.Single(bearer).Name;

        // Required for the whole document (or, failing that, by each admin operation).
        var documentWide = root.TryGetProperty("security", out var security) && security.EnumerateArray().Any(r => r.TryGetProperty(scheme, out _));
        foreach (var (path, method) in new[] { ("/api/v1/enrollment-tokens", "post"), ("/api/v1/certificates", "get"), ("/api/v1/certificates/{serial}", "get") })
        {
            var operation = root.GetProperty("paths").GetProperty(path).GetProperty(method);
            var required = documentWide ||
                (operation.TryGetProperty("security", out var own) && own.EnumerateArray().Any(r => r.TryGetProperty(scheme, out _)));
            Assert.True(required, $"{method.ToUpperInvariant()} {path} does not require the '{scheme}' scheme");
        }
    }

    [Fact]
    public async Task SwaggerJson_SecurityRequirement_OnlyOnOperationsThatTakeACredential()
    {
        using var document = await GetDocumentAsync();
        var root = document.RootElement;

        // A document-wide requirement would put Swagger UI's lock on the public endpoints too.
        Assert.False(root.TryGetProperty("security", out var wide) && wide.GetArrayLength() > 0, "the document requires the bearer scheme everywhere");
        var operations = root.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => (Path: path.Name, Method: op.Name, Operation: op.Value)))
            .ToList();
        string[] publicPrefixes = ["/pki/", "/ocsp", "/health/", "/metrics", "/api/v1/renew"]; // renew: mTLS, not a bearer
        var checkedPublic = 0;
        var checkedAuthenticated = 0;
        foreach (var (path, method, operation) in operations)
        {
            var requirements = operation.TryGetProperty("security", out var security) ? security.EnumerateArray().ToList() : [];
            if (publicPrefixes.Any(prefix => path.StartsWith(prefix, StringComparison.Ordinal)))
            {
                Assert.True(requirements.Count == 0, $"{method.ToUpperInvariant()} {path} is public but has a security requirement");
                checkedPublic++;
            }
            else if (path.StartsWith("/api/v1/", StringComparison.Ordinal))
            {
                Assert.True(requirements.Any(r => r.TryGetProperty("bearer", out _)), $"{method.ToUpperInvariant()} {path} takes a bearer credential but has no requirement");
                checkedAuthenticated++;
            }
        }
        Assert.True(checkedPublic >= 8, $"only {checkedPublic} public operations found");
        Assert.True(checkedAuthenticated >= 10, $"only {checkedAuthenticated} authenticated operations found");
        var enroll = root.GetProperty("paths").GetProperty("/api/v1/enroll").GetProperty("post");
        Assert.True(enroll.TryGetProperty("security", out _), "POST /api/v1/enroll takes the enrollment token as a bearer credential");
    }

    [Fact]
    public async Task SwaggerJson_Description_CoversTheWholeService()
    {
        using var document = await GetDocumentAsync();

        var description = document.RootElement.GetProperty("info").GetProperty("description").GetString()!;

        foreach (var part in new[] { "enrollment", "renewal", "revocation", "CRL", "OCSP", "expiry", "API keys", "audit" })
        {
            Assert.Contains(part, description, StringComparison.OrdinalIgnoreCase);
        }
    }

    private async Task<JsonDocument> GetDocumentAsync()
    {
        using var response = await service.Api.Http.GetAsync("swagger/v1/swagger.json");
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStreamAsync());
    }

    /// <summary>Follows a <c>$ref</c> into components/schemas and asserts the target exists and describes something.</summary>
    private static JsonElement AssertSchemaResolves(JsonElement root, JsonElement schema, string where)
    {
        if (schema.TryGetProperty("$ref", out var reference))
        {
            var name = reference.GetString()!.Split('/')[^1];
            Assert.True(root.GetProperty("components").GetProperty("schemas").TryGetProperty(name, out schema), $"{where}: schema '{name}' is not in components");
        }
        Assert.True(schema.TryGetProperty("properties", out var properties) && properties.EnumerateObject().Any(), $"{where}: the schema has no properties");
        return schema;
    }
}
