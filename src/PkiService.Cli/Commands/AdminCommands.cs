using System.CommandLine;
using System.Text;
using System.Text.Json;
using PkiService.Cli.Infrastructure;

namespace PkiService.Cli.Commands;

/// <summary>
/// The admin commands, with the API key from <c>PKI_API_KEY</c> (never printed, never saved): <c>token create</c>,
/// <c>certs list</c>, <c>revoke</c>, <c>audit verify</c>. Each mirrors one route of the service's API.
/// </summary>
public static class AdminCommands
{
    /// <summary>The reasons POST /api/v1/certificates/{serial}/revoke accepts (RFC 5280 5.3.1).</summary>
    public static readonly string[] RevocationReasons =
        ["unspecified", "keyCompromise", "caCompromise", "affiliationChanged", "superseded", "cessationOfOperation", "certificateHold", "privilegeWithdrawn"];

    /// <summary>Cap on the pages <c>certs list</c> reads (200 each): the output stays bounded whatever the database holds.</summary>
    public const int MaxPages = 100;

    /// <summary><c>pki token create</c>: POST /api/v1/enrollment-tokens.</summary>
    public static Command Token()
    {
        var name = new Option<string>("--name") { Description = "The only common name the token allows.", Required = true };
        var sans = new Option<string[]>("--san") { Description = "A SAN the token allows; repeat for more.", AllowMultipleArgumentsPerToken = true };
        var profile = new Option<string?>("--profile") { Description = "Certificate profile: client (default) or server." };
        profile.AcceptOnlyFromAmong("client", "server");
        var ttl = new Option<string?>("--ttl") { Description = "How long the token stays usable, ISO 8601 (default PT1H, at most P7D)." };
        var maxValidity = new Option<string?>("--max-validity") { Description = "The longest validity a certificate enrolled with it may get, ISO 8601." };
        var contact = new Option<string?>("--contact-email") { Description = "Who to warn before the certificate expires." };
        var tokenFile = new Option<string?>("--token-file") { Description = "Write the token to this file (mode 0600) instead of stdout." };
        var json = PkiCommands.Json();
        var create = new Command("create", "Create a one-time enrollment token; its secret is shown only once.")
        {
            name, sans, profile, ttl, maxValidity, contact, tokenFile, json,
        };
        create.SetCliAction(async (parse, cancellationToken) =>
        {
            EnrollCommand.CheckDuration(parse.GetValue(ttl), "--ttl");
            EnrollCommand.CheckDuration(parse.GetValue(maxValidity), "--max-validity");
            var apiKey = PkiCommands.ApiKey();
            var (config, http) = Connect(parse);
            using var _ = http;
            var body = new
            {
                commonName = parse.GetRequiredValue(name), sans = parse.GetValue(sans) ?? [], profile = parse.GetValue(profile),
                ttl = parse.GetValue(ttl), contactEmail = parse.GetValue(contact), maxValidity = parse.GetValue(maxValidity),
            };
            var created = await PkiHttp.ReadJsonAsync<JsonElement>(
                await PkiHttp.PostJsonAsync(http, "api/v1/enrollment-tokens", body, cancellationToken, bearer: apiKey), cancellationToken);
            var secret = created.GetProperty("token").GetString()!;
            var id = created.GetProperty("id").GetString();
            var expires = created.GetProperty("expiresAt").GetDateTimeOffset();
            if (parse.GetValue(tokenFile) is { } file)
            {
                AtomicFile.Write(file, secret + "\n", AtomicFile.Private);
                Console.Error.WriteLine($"Token {id} written to {file}, usable until {expires:u}.");
                if (parse.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(new { id, expiresAt = expires, tokenFile = Path.GetFullPath(file) }, Json.Indented));
                }
            }
            else if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(created, Json.Indented));
            }
            else
            {
                // The secret is this command's output (and only that, on stdout), so it can be piped: PKI_TOKEN=$(pki token create ...).
                Console.Error.WriteLine($"Token {id}, usable once until {expires:u}:");
                Console.WriteLine(secret);
            }
            return ExitCodes.Ok;
        });
        return new Command("token", "Enrollment tokens (admin; PKI_API_KEY).") { create };
    }

    /// <summary><c>pki certs list</c>: GET /api/v1/certificates, every page.</summary>
    public static Command Certs()
    {
        var status = new Option<string?>("--status") { Description = "Only certificates with this status." };
        status.AcceptOnlyFromAmong("active", "revoked", "expired", "superseded");
        var expiring = new Option<string?>("--expiring") { Description = "Only active certificates expiring within this ISO 8601 duration, such as P7D." };
        var json = PkiCommands.Json();
        var list = new Command("list", "List certificates as an aligned table (or JSON).") { status, expiring, json };
        list.SetCliAction(async (parse, cancellationToken) =>
        {
            EnrollCommand.CheckDuration(parse.GetValue(expiring), "--expiring");
            var apiKey = PkiCommands.ApiKey();
            var (_, http) = Connect(parse);
            using var __ = http;
            var items = new List<JsonElement>();
            for (var page = 1; page <= MaxPages; page++)
            {
                var query = new StringBuilder($"api/v1/certificates?page={page}&pageSize=200");
                if (parse.GetValue(status) is { } s)
                {
                    query.Append("&status=").Append(Uri.EscapeDataString(s));
                }
                if (parse.GetValue(expiring) is { } e)
                {
                    query.Append("&expiringWithin=").Append(Uri.EscapeDataString(e));
                }
                var answer = await PkiHttp.ReadJsonAsync<JsonElement>(await PkiHttp.GetAsync(http, query.ToString(), cancellationToken, apiKey), cancellationToken);
                var onPage = answer.GetProperty("items").EnumerateArray().ToList();
                items.AddRange(onPage);
                if (onPage.Count == 0 || items.Count >= answer.GetProperty("total").GetInt32())
                {
                    break;
                }
            }
            if (parse.GetValue(json))
            {
                // Without the PEM: a listing; 'GET /api/v1/certificates/{serial}' has the certificate itself.
                Console.WriteLine(JsonSerializer.Serialize(items.Select(Summary), Json.Indented));
                return ExitCodes.Ok;
            }
            var rows = new List<string[]> { new[] { "SERIAL", "STATUS", "NOT AFTER", "PROFILE", "SUBJECT", "SANS" } };
            rows.AddRange(items.Select(i => new[]
            {
                i.GetProperty("serialNumber").GetString()!, i.GetProperty("status").GetString()!,
                i.GetProperty("notAfter").GetDateTimeOffset().ToString("u"), i.GetProperty("profile").GetString()!,
                i.GetProperty("subject").GetString()!, string.Join(",", i.GetProperty("sans").EnumerateArray().Select(s => s.GetString())),
            }));
            WriteTable(rows);
            return ExitCodes.Ok;
        });
        return new Command("certs", "Issued certificates (PKI_API_KEY).") { list };
    }

    /// <summary><c>pki revoke SERIAL --reason R</c>: POST /api/v1/certificates/{serial}/revoke.</summary>
    public static Command Revoke()
    {
        var serial = new Argument<string>("serial") { Description = "The certificate's serial number, hexadecimal." };
        var reason = new Option<string>("--reason") { Description = "RFC 5280 reason.", DefaultValueFactory = _ => "unspecified" };
        reason.AcceptOnlyFromAmong(RevocationReasons);
        var json = PkiCommands.Json();
        var command = new Command("revoke", "Revoke a certificate (admin; PKI_API_KEY). OCSP and the CRL say 'revoked' once this returns.")
        {
            serial, reason, json,
        };
        command.SetCliAction(async (parse, cancellationToken) =>
        {
            var apiKey = PkiCommands.ApiKey();
            var (_, http) = Connect(parse);
            using var __ = http;
            var value = parse.GetRequiredValue(serial).Replace(":", "", StringComparison.Ordinal);
            var revoked = await PkiHttp.ReadJsonAsync<JsonElement>(await PkiHttp.PostJsonAsync(
                http, $"api/v1/certificates/{Uri.EscapeDataString(value)}/revoke", new { reason = parse.GetRequiredValue(reason) }, cancellationToken, apiKey),
                cancellationToken);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(Summary(revoked), Json.Indented));
            }
            else
            {
                Console.WriteLine($"Revoked {revoked.GetProperty("serialNumber").GetString()} '{revoked.GetProperty("subject").GetString()}' "
                    + $"({revoked.GetProperty("revocationReason").GetString()}).");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary><c>pki audit verify</c>: GET /api/v1/audit/verify; exit 1 when the chain is broken.</summary>
    public static Command Audit()
    {
        var json = PkiCommands.Json();
        var verify = new Command("verify", "Have the service recompute the audit hash chain and MACs; exit 1 if a row does not verify.") { json };
        verify.SetCliAction(async (parse, cancellationToken) =>
        {
            var apiKey = PkiCommands.ApiKey();
            var (_, http) = Connect(parse);
            using var __ = http;
            var result = await PkiHttp.ReadJsonAsync<JsonElement>(await PkiHttp.GetAsync(http, "api/v1/audit/verify", cancellationToken, apiKey), cancellationToken);
            var valid = result.GetProperty("valid").GetBoolean();
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(result, Json.Indented));
            }
            else if (valid)
            {
                Console.WriteLine($"valid: {result.GetProperty("checked").GetInt64()} rows"
                    + (result.TryGetProperty("lastId", out var id) && id.ValueKind == JsonValueKind.Number ? $", last row {id.GetInt64()}" : "")
                    + (result.TryGetProperty("lastHash", out var hash) && hash.ValueKind == JsonValueKind.String ? $", hash {hash.GetString()}" : ""));
            }
            else
            {
                Console.WriteLine($"broken at row {result.GetProperty("firstBrokenId")}: {result.GetProperty("reason").GetString()} "
                    + $"({result.GetProperty("checked").GetInt64()} rows before it verify)");
            }
            return valid ? ExitCodes.Ok : ExitCodes.Refused;
        });
        return new Command("audit", "The audit trail (PKI_API_KEY: admin or auditor).") { verify };
    }

    private static (CliConfig Config, HttpClient Http) Connect(ParseResult parse)
    {
        var config = CliConfig.Load(parse.GetValue(PkiCommands.Config));
        return (config, PkiHttp.Create(config.ServiceBase, config.RootCertificate())); // the root lives as long as the client's trust policy
    }

    private static object Summary(JsonElement c) => new
    {
        serialNumber = c.GetProperty("serialNumber").GetString(),
        subject = c.GetProperty("subject").GetString(),
        sans = c.GetProperty("sans"),
        profile = c.GetProperty("profile").GetString(),
        notBefore = c.GetProperty("notBefore"),
        notAfter = c.GetProperty("notAfter"),
        status = c.GetProperty("status").GetString(),
        revokedAt = c.GetProperty("revokedAt"),
        revocationReason = c.GetProperty("revocationReason"),
    };

    /// <summary>Columns padded to their widest cell, two spaces apart; the last column unpadded.</summary>
    private static void WriteTable(List<string[]> rows)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
        {
            Console.WriteLine(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
        }
    }
}
