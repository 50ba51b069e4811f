using System.Net.Http.Json;
using System.Text.Json;
using PkiService.Api.Tests.Support;
using PkiService.Core.Audit;

namespace PkiService.Api.Tests.Features.Audit;

/// <summary>
/// The audit MAC against someone who can write the database but does not hold the key passphrase: they can recompute
/// the hash chain, not the MACs.
/// </summary>
public abstract class AuditMacTests(TestDatabase database) : IDisposable
{
    private readonly string _dataDirectory = TempDirectory.Create();
    private PkiApiFactory? _started;

    private PkiApiFactory _factory
    {
        get => _started ??= new PkiApiFactory(_dataDirectory, database: database);
        set => _started = value;
    }


    public void Dispose()
    {
        _started?.Dispose();
        GC.SuppressFinalize(this);
    }

    [SkippableFact]
    public async Task Verify_ChainRecomputedAfterAnEditWithSql_ReportsTheEditedRowsMac()
    {
        await RecordSomeEventsAsync();
        var before = await VerifyAsync();
        Assert.True(before.GetProperty("valid").GetBoolean(), before.ToString());

        // The attack: change row 4, recompute every hash from row 4 on with AuditChain.Hash, write them back with SQL.
        ForgeChainFrom(4, "nothing happened");

        var verification = await VerifyAsync();
        Assert.False(verification.GetProperty("valid").GetBoolean(), "a chain recomputed without the audit key must not verify");
        Assert.Equal(4, verification.GetProperty("firstBrokenId").GetInt64());
        Assert.Contains("MAC does not verify", verification.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, verification.GetProperty("checked").GetInt64());
    }

    [SkippableFact]
    public async Task Verify_MacRemovedFromARow_ReportsThatRow_AlsoAfterARestart()
    {
        await RecordSomeEventsAsync();

        Assert.Equal(1, Execute("UPDATE \"AuditEvents\" SET \"Mac\" = NULL WHERE \"Id\" = 3"));

        await AssertBrokenAtAsync(3, "no MAC");
        await RestartAsync(); // the rows were sealed at the first start: a row without a MAC now is never sealed again
        await AssertBrokenAtAsync(3, "no MAC");
    }

    [SkippableFact]
    public async Task Start_RowsWrittenBeforeTheMac_AreSealedOnce_WithAnAuditRowSayingSo()
    {
        await RecordSomeEventsAsync();
        _factory.Dispose();
        // The state a database of the previous version is in: no MACs, and no sealing has happened (in this data directory, or on the shared database).
        var legacyRows = Execute("UPDATE \"AuditEvents\" SET \"Mac\" = NULL");
        ForgetSealing();

        await RestartAsync();

        var verification = await VerifyAsync();
        Assert.True(verification.GetProperty("valid").GetBoolean(), verification.ToString());
        var seal = Assert.Single(await RowsAsync("audit.seal"));
        Assert.Equal("success", seal.GetProperty("outcome").GetString());
        Assert.Equal("system", seal.GetProperty("actor").GetString());
        Assert.StartsWith($"{legacyRows} rows written before the audit MAC (ids 1-{legacyRows})", seal.GetProperty("details").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, Count("SELECT COUNT(*) FROM \"AuditEvents\" WHERE \"Mac\" IS NULL OR length(\"Mac\") <> 32"));

        await RestartAsync();
        Assert.Single(await RowsAsync("audit.seal"));
        Assert.True((await VerifyAsync()).GetProperty("valid").GetBoolean());
    }

    [SkippableFact]
    public async Task Start_RowsBeforeTheMacWithABrokenChain_SealsOnlyTheRowsBeforeTheBreak()
    {
        await RecordSomeEventsAsync();
        _factory.Dispose();
        Execute("UPDATE \"AuditEvents\" SET \"Mac\" = NULL");
        Execute("UPDATE \"AuditEvents\" SET \"Details\" = 'nothing happened' WHERE \"Id\" = 4");
        ForgetSealing();

        await RestartAsync();

        // Rows 1-3 were sealed, so verification points at the altered row rather than at "row 1 has no MAC".
        await AssertBrokenAtAsync(4, "altered");
        var seal = Assert.Single(await RowsAsync("audit.seal"));
        Assert.Equal("failure", seal.GetProperty("outcome").GetString());
        Assert.Contains("does not verify at row 4", seal.GetProperty("details").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, Count("SELECT COUNT(*) FROM \"AuditEvents\" WHERE \"Id\" < 4 AND \"Mac\" IS NOT NULL"));
    }

    private async Task RecordSomeEventsAsync()
    {
        var token = await _factory.CreateTokenAsync("mac-test");
        await _factory.EnrollAsync(token, Csrs.P256("someone-else")); // refused: audited as a failure
        (await _factory.EnrollAsync(token, Csrs.P256("mac-test"))).EnsureSuccessStatusCode();
        Assert.True(Count("SELECT COUNT(*) FROM \"AuditEvents\"") >= 6);
    }

    private async Task RestartAsync()
    {
        _factory.Dispose();
        _factory = new PkiApiFactory(_dataDirectory, database: database);
        using var client = _factory.CreateClient(); // starts the host: migrations, CA keys, sealing
        (await client.GetAsync("/health/live")).EnsureSuccessStatusCode();
    }

    private async Task AssertBrokenAtAsync(long id, string reason)
    {
        var verification = await VerifyAsync();
        Assert.False(verification.GetProperty("valid").GetBoolean(), verification.ToString());
        Assert.Equal(id, verification.GetProperty("firstBrokenId").GetInt64());
        Assert.Contains(reason, verification.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    private async Task<JsonElement> VerifyAsync()
    {
        using var admin = _factory.CreateAdminClient();
        return await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
    }

    private async Task<List<JsonElement>> RowsAsync(string action)
    {
        using var admin = _factory.CreateAdminClient();
        var page = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/audit?action={action}&pageSize=500");
        return page.GetProperty("items").EnumerateArray().ToList();
    }

    /// <summary>Rewrites row <paramref name="fromId"/>'s details and every hash from there on, as a forger with SQL access would.</summary>
    private void ForgeChainFrom(long fromId, string details)
    {
        using var connection = Open();
        var rows = new List<(AuditEntryContent Content, byte[] PreviousHash)>();
        using (var select = connection.CreateCommand())
        {
            select.CommandText = "SELECT \"Id\", \"Time\", \"Actor\", \"Action\", \"Target\", \"Outcome\", \"ClientIp\", \"Details\", \"PreviousHash\" FROM \"AuditEvents\" ORDER BY \"Id\"";
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
                rows.Add((new AuditEntryContent(reader.GetInt64(0), new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc)),
                    reader.GetString(2), reader.GetString(3), Text(4), reader.GetString(5), Text(6), Text(7)), (byte[])reader[8]));
            }
        }
        var previous = rows.Single(r => r.Content.Id == fromId).PreviousHash;
        foreach (var (content, _) in rows.Where(r => r.Content.Id >= fromId))
        {
            var forged = content.Id == fromId ? content with { Details = details } : content;
            var hash = AuditChain.Hash(previous, forged);
            using var update = connection.CreateCommand();
            update.CommandText = "UPDATE \"AuditEvents\" SET \"Details\" = @details, \"PreviousHash\" = @previous, \"Hash\" = @hash WHERE \"Id\" = @id";
            Parameter(update, "details", (object?)forged.Details ?? DBNull.Value);
            Parameter(update, "previous", previous);
            Parameter(update, "hash", hash);
            Parameter(update, "id", content.Id);
            Assert.Equal(1, update.ExecuteNonQuery());
            previous = hash;
        }
    }

    /// <summary>Removes the record that sealing happened: the marker file on one node, the ServiceState row on a shared database.</summary>
    private void ForgetSealing()
    {
        if (database.IsPostgres)
        {
            Assert.Equal(1, Execute("DELETE FROM \"ServiceState\" WHERE \"Key\" = 'audit-mac-sealed'"));
        }
        else
        {
            File.Delete(Path.Combine(_dataDirectory, "audit-mac-sealed"));
        }
    }

    private int Execute(string sql)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    private long Count(string sql)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    private System.Data.Common.DbConnection Open() => database.Open(_dataDirectory);

    private static void Parameter(System.Data.Common.DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}

/// <summary><see cref="AuditMacTests"/> on the embedded SQLite file.</summary>
public sealed class AuditMacTestsOnSqlite() : AuditMacTests(TestDatabase.Sqlite);

/// <summary><see cref="AuditMacTests"/> on a real PostgreSQL database.</summary>
public sealed class AuditMacTestsOnPostgres() : AuditMacTests(TestDatabase.Postgres);
