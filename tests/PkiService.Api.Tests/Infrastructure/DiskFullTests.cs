using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PkiService.Api.Tests.Support;
using PkiService.Api.Issuance;

namespace PkiService.Api.Tests.Infrastructure;

/// <summary>
/// A real full disk: the data directory is a size-limited tmpfs (needs root and permission to mount; skipped
/// otherwise), filled up while the service runs. SQLite answers SQLITE_FULL; the service answers 503 problem+json,
/// writes nothing half-way, reports not ready, and recovers once space is freed.
/// </summary>
public sealed class DiskFullTests
{
    [SkippableFact]
    public async Task DiskFull_OnSizeLimitedTmpfs_WritesAnswer503AndSucceedOnceSpaceIsFreed()
    {
        var directory = TempDirectory.Create();
        var mounted = OperatingSystem.IsLinux() && Run("mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", directory) == 0;
        try
        {
            Skip.IfNot(mounted, "mounting a tmpfs needs root and CAP_SYS_ADMIN");
            using var factory = new PkiApiFactory(directory);
            using var admin = factory.CreateAdminClient();
            using var anonymous = factory.CreateClient();
            var pendingToken = await factory.CreateTokenAsync("pending");
            var enrolled = await factory.EnrollAsync(await factory.CreateTokenAsync("active"), Csrs.P256("active"));
            Assert.Equal(HttpStatusCode.Created, enrolled.StatusCode);
            var activeSerial = (await enrolled.Content.ReadFromJsonAsync<PkiApiFactory.EnrollmentResponse>())!.SerialNumber;
            var csr = Csrs.P256("pending");
            var certificatesBefore = (await admin.GetFromJsonAsync<JsonElement>("/api/v1/certificates?pageSize=1")).GetProperty("total").GetInt32();

            var filler = Path.Combine(directory, "filler");
            Fill(filler);

            await ProblemAssert.IsProblemAsync(await factory.EnrollAsync(pendingToken, csr), HttpStatusCode.ServiceUnavailable);
            await ProblemAssert.IsProblemAsync(
                await admin.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "during-fault" }), HttpStatusCode.ServiceUnavailable);
            await ProblemAssert.IsProblemAsync(
                await admin.PostAsJsonAsync($"/api/v1/certificates/{activeSerial}/revoke", new { reason = "keyCompromise" }), HttpStatusCode.ServiceUnavailable);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await anonymous.GetAsync("/health/ready")).StatusCode);
            Assert.Equal("active", (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/certificates/{activeSerial}")).GetProperty("status").GetString());
            Assert.Equal(certificatesBefore, (await admin.GetFromJsonAsync<JsonElement>("/api/v1/certificates?pageSize=1")).GetProperty("total").GetInt32());

            File.Delete(filler);

            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/ready")).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await factory.EnrollAsync(pendingToken, csr)).StatusCode); // the token was not consumed
            Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/enrollment-tokens", new { commonName = "after-fault" })).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/certificates/{activeSerial}/revoke", new { reason = "keyCompromise" })).StatusCode);
            var verification = await admin.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify");
            Assert.True(verification.GetProperty("valid").GetBoolean(), verification.ToString());
        }
        finally
        {
            if (mounted)
            {
                Run("umount", "-l", directory);
            }
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Writes zeros into <paramref name="path"/> until the file system is full.</summary>
    private static void Fill(string path)
    {
        var chunk = new byte[64 * 1024];
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1);
        try
        {
            for (var written = 0L; written < 64L * 1024 * 1024; written += chunk.Length)
            {
                stream.Write(chunk);
                stream.Flush();
            }
        }
        catch (IOException)
        {
            // ENOSPC: full
        }
        try
        {
            // Single bytes into whatever the last chunk left over.
            while (true)
            {
                stream.WriteByte(0);
                stream.Flush();
            }
        }
        catch (IOException)
        {
            // full to the last byte
        }
    }

    private static int Run(string command, params string[] arguments)
    {
        try
        {
            var start = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }
            using var process = Process.Start(start)!;
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill();
                return -1;
            }
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1; // no such command
        }
    }
}
