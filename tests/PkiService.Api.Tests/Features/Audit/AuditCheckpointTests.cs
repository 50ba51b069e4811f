using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using PkiService.Api.Tests.Support;

namespace PkiService.Api.Tests.Features.Audit;

/// <summary>Signed checkpoints of the newest audit row, and what they reveal: truncation, which the chain alone cannot.</summary>
public sealed class AuditCheckpointTests : IDisposable
{
    private readonly PkiApiFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task Checkpoint_VerifiesWithTheIssuingCaFromCaPem_InDotNetAndOpenSsl()
    {
        await _factory.CreateTokenAsync("checkpointed");
        using var admin = _factory.CreateAdminClient();
        var verification = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");

        var checkpoint = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/checkpoint");

        var caPem = await admin.GetStringAsync("/pki/ca.pem");
        var signedData = Convert.FromBase64String(checkpoint.GetProperty("signedData").GetString()!);
        var signature = Convert.FromBase64String(checkpoint.GetProperty("signature").GetString()!);
        using var issuingCa = X509Certificate2.CreateFromPem(caPem);
        Assert.Equal("sha256", checkpoint.GetProperty("digest").GetString()); // the default issuing CA key is P-256
        Assert.Equal("ecdsa-with-SHA256", checkpoint.GetProperty("signatureAlgorithm").GetString());
        Assert.True(issuingCa.GetECDsaPublicKey()!.VerifyData(signedData, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        Assert.Equal(caPem.Trim(), checkpoint.GetProperty("signerCertificate").GetString()!.Trim());

        var statement = JsonDocument.Parse(signedData).RootElement;
        Assert.Equal("pkiservice-audit-checkpoint/1", statement.GetProperty("format").GetString());
        Assert.Equal(verification.GetProperty("lastId").GetInt64(), statement.GetProperty("id").GetInt64());
        Assert.Equal(verification.GetProperty("lastHash").GetString(), statement.GetProperty("hash").GetString());
        Assert.Equal(issuingCa.Subject.Replace(", ", ",", StringComparison.Ordinal).Split(',').Order(), statement.GetProperty("issuer").GetString()!.Split(',').Order());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(issuingCa.RawData)), statement.GetProperty("issuerSha256").GetString());
        Assert.Equal(checkpoint.GetProperty("id").GetInt64(), statement.GetProperty("id").GetInt64());

        // What the README tells an operator to run.
        var directory = TempDirectory.Create();
        File.WriteAllText(Path.Combine(directory, "ca.pem"), caPem);
        File.WriteAllBytes(Path.Combine(directory, "checkpoint.json"), signedData);
        File.WriteAllBytes(Path.Combine(directory, "checkpoint.sig"), signature);
        if (OpenSsl(directory, "x509", "-in", "ca.pem", "-pubkey", "-noout", "-out", "ca.pub") is { } extracted)
        {
            Assert.True(extracted.ExitCode == 0, extracted.Output);
            var verified = OpenSsl(directory, "dgst", "-sha256", "-verify", "ca.pub", "-signature", "checkpoint.sig", "checkpoint.json")!.Value;
            Assert.True(verified.ExitCode == 0, verified.Output);
            Assert.Contains("Verified OK", verified.Output, StringComparison.Ordinal);
            File.WriteAllBytes(Path.Combine(directory, "checkpoint.json"), Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(signedData).Replace("\"id\":", "\"id\":1", StringComparison.Ordinal)));
            Assert.NotEqual(0, OpenSsl(directory, "dgst", "-sha256", "-verify", "ca.pub", "-signature", "checkpoint.sig", "checkpoint.json")!.Value.ExitCode);
        }
    }

    [Fact]
    public async Task VerifyCheckpoint_NewestRowsDeleted_ReportsTruncationThatTheChainDoesNotShow()
    {
        await _factory.CreateTokenAsync("before");
        using var admin = _factory.CreateAdminClient();
        var checkpoint = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/checkpoint");
        var id = checkpoint.GetProperty("id").GetInt64();

        Assert.Equal(2, Execute($"DELETE FROM AuditEvents WHERE Id >= {id - 1}")); // truncation: the newest two rows

        var chain = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
        Assert.True(chain.GetProperty("valid").GetBoolean(), "a truncated chain still verifies: that is why checkpoints exist");
        var answer = await VerifyCheckpointAsync(admin, checkpoint);
        Assert.False(answer.GetProperty("matches").GetBoolean(), answer.ToString());
        Assert.Equal(id, answer.GetProperty("checkpointId").GetInt64());
        Assert.Equal(id - 2, answer.GetProperty("newestId").GetInt64());
        Assert.Contains($"row {id} is no longer in the trail", answer.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyCheckpoint_TruncatedAndRefilledPastIt_ReportsTheRowsNewHash()
    {
        using var admin = _factory.CreateAdminClient();
        var checkpoint = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/checkpoint");
        var id = checkpoint.GetProperty("id").GetInt64();
        Assert.Equal(1, Execute($"DELETE FROM AuditEvents WHERE Id = {id}"));
        await _factory.CreateTokenAsync("refill"); // appended as row {id} again, with other content

        var answer = await VerifyCheckpointAsync(admin, checkpoint);

        Assert.False(answer.GetProperty("matches").GetBoolean(), answer.ToString());
        Assert.Contains($"row {id} now has hash", answer.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.True((await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify")).GetProperty("valid").GetBoolean());
    }

    [Fact]
    public async Task VerifyCheckpoint_TrailOnlyGrew_Matches()
    {
        using var admin = _factory.CreateAdminClient();
        var checkpoint = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/checkpoint");
        await _factory.CreateTokenAsync("later");

        var answer = await VerifyCheckpointAsync(admin, checkpoint);

        Assert.True(answer.GetProperty("matches").GetBoolean(), answer.ToString());
        Assert.True(answer.GetProperty("newestId").GetInt64() > answer.GetProperty("checkpointId").GetInt64());
        Assert.Equal(checkpoint.GetProperty("hash").GetString(), answer.GetProperty("checkpointHash").GetString());
    }

    [Fact]
    public async Task VerifyCheckpoint_EditedSignedData_Returns400()
    {
        using var admin = _factory.CreateAdminClient();
        var checkpoint = JsonNode.Parse((await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/checkpoint")).GetRawText())!;
        var statement = JsonNode.Parse(Convert.FromBase64String(checkpoint["signedData"]!.GetValue<string>()))!;
        statement["id"] = 1; // claim an older row: a forger would like the checkpoint to vouch for less
        checkpoint["signedData"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(statement.ToJsonString()));

        var response = await admin.PostAsJsonAsync("/api/v1/audit/verify-checkpoint", checkpoint);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("signature does not verify", problem.GetProperty("title").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyCheckpoint_NotBase64_Returns400NamingTheField()
    {
        using var admin = _factory.CreateAdminClient();

        var response = await admin.PostAsJsonAsync("/api/v1/audit/verify-checkpoint", new { signedData = "not base64!", signature = "" });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("signedData", out _), problem.ToString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("signature", out _), problem.ToString());
    }

    [Fact]
    public async Task Checkpoint_NewestRowAltered_Returns409AndSignsNothing()
    {
        using var admin = _factory.CreateAdminClient();
        Assert.Equal(1, Execute("UPDATE AuditEvents SET Details = 'nothing happened' WHERE Id = (SELECT MAX(Id) FROM AuditEvents)"));

        var response = await admin.GetAsync("/api/v1/audit/checkpoint");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Contains("does not verify", problem.GetProperty("title").GetString(), StringComparison.Ordinal);
    }

    private static async Task<JsonElement> VerifyCheckpointAsync(HttpClient admin, JsonElement checkpoint)
    {
        // The operator sends back the whole checkpoint as kept.
        var response = await admin.PostAsJsonAsync("/api/v1/audit/verify-checkpoint", checkpoint);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private int Execute(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_factory.DataDirectory, "pki.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    /// <summary>Runs openssl in <paramref name="directory"/>; null when it is not installed (outside CI, where it must be).</summary>
    private static (int ExitCode, string Output)? OpenSsl(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("openssl") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            return (process.ExitCode, output.Result + error.Result);
        }
        catch (Win32Exception) when (!string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
    }
}
