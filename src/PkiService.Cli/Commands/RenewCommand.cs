using System.CommandLine;
using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PkiService.Cli.Crypto;
using PkiService.Cli.Infrastructure;

namespace PkiService.Cli.Commands;

/// <summary>
/// <c>pki renew --cert F --key F [--daemon] [--exec "cmd"]</c>: renews over mTLS (the current certificate is the TLS
/// client certificate; the server's certificate must chain to the saved root) with a NEW key of the same type. The
/// files are replaced only after the new pair verified. As a daemon: renews at the answer's renewAfter (WIRE15.md) or at
/// two thirds of the lifetime, plus jitter; retries with capped exponential backoff; stops cleanly on SIGTERM/SIGINT.
/// </summary>
public static class RenewCommand
{
    /// <summary>The daemon's share of the lifetime after which it renews when the service gave no renewAfter.</summary>
    public const double DefaultRenewFraction = 2.0 / 3.0;

    /// <summary>Jitter: up to 5% of the lifetime, at most 10 minutes, so a fleet enrolled together does not renew together.</summary>
    public static readonly TimeSpan MaxJitter = TimeSpan.FromMinutes(10);

    public static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan MaxRetry = TimeSpan.FromMinutes(5);

    public static Command Create()
    {
        var cert = new Option<string>("--cert") { Description = "The certificate file to renew (replaced by the new one).", Required = true };
        var key = new Option<string>("--key") { Description = "Its private key file (replaced by the new key, mode 0600).", Required = true };
        var daemon = new Option<bool>("--daemon") { Description = "Keep running and renew each time the certificate is due; stop with SIGTERM or SIGINT." };
        var exec = new Option<string?>("--exec") { Description = "A shell command (/bin/sh -c) to run after each renewal, e.g. 'systemctl reload nginx'." };
        var json = PkiCommands.Json();
        var command = new Command("renew", "Renew a certificate over mTLS with a new key, once or as a daemon.")
        {
            cert, key, daemon, exec, json,
        };
        command.SetCliAction(async (parse, cancellationToken) =>
        {
            var config = CliConfig.Load(parse.GetValue(PkiCommands.Config));
            using var root = config.RootCertificate();
            var files = new Files(parse.GetRequiredValue(cert), parse.GetRequiredValue(key));
            var hook = parse.GetValue(exec);
            if (!parse.GetValue(daemon))
            {
                using var newKey = NewKeyFor(files);
                var issued = await RenewOnceAsync(config, root, files, newKey, cancellationToken);
                EnrollCommand.Report(issued, parse.GetValue(json), "Renewed");
                await RunHookAsync(hook);
                return ExitCodes.Ok;
            }
            return await RunDaemonAsync(config, root, files, hook, cancellationToken);
        });
        return command;
    }

    private sealed record Files(string Certificate, string Key);

    private static async Task<int> RunDaemonAsync(CliConfig config, X509Certificate2 root, Files files, string? hook, CancellationToken cancellationToken)
    {
        IssuedCertificate? last = null;
        while (true)
        {
            DateTimeOffset notBefore, notAfter;
            string serial;
            using (var current = CertificateFiles.ReadCertificate(files.Certificate))
            {
                notBefore = new DateTimeOffset(current.NotBefore.ToUniversalTime());
                notAfter = new DateTimeOffset(current.NotAfter.ToUniversalTime());
                serial = current.SerialNumber;
            }
            // The service's hint counts only for the certificate it was given with.
            var hint = last is not null && string.Equals(last.SerialNumber, serial, StringComparison.OrdinalIgnoreCase) ? last.RenewAfter : null;
            var due = RenewalTime(notBefore, notAfter, hint);
            Log($"{serial} is valid until {notAfter:u}; renewing at {due:u}{(hint is null ? " (2/3 of its lifetime)" : " (the service's renewAfter)")}.");
            await DelayUntilAsync(due, cancellationToken);

            var retry = FirstRetry;
            // One new key for this renewal, kept across its retries: when an answer was lost after the service committed
            // the renewal, the same renewal sent again gets the certificate it made (a new key would be refused, the
            // old certificate being superseded already).
            using var newKey = NewKeyFor(files);
            while (true)
            {
                try
                {
                    last = await RenewOnceAsync(config, root, files, newKey, cancellationToken);
                    Log($"Renewed: {last.SerialNumber}, valid {last.NotBefore:u} to {last.NotAfter:u}.");
                    await RunHookAsync(hook);
                    break;
                }
                catch (CliException e) when (e.Status is { } status && PkiHttp.IsPermanent(status))
                {
                    throw new CliException(ExitCodes.Refused, $"The service refused the renewal, stopping: {e.Message}");
                }
                catch (CliException e) when (e.ExitCode != ExitCodes.Usage)
                {
                    if (DateTimeOffset.UtcNow + retry >= notAfter)
                    {
                        throw new CliException(e.ExitCode, $"{serial} expires at {notAfter:u} before the next attempt; last error: {e.Message}");
                    }
                    Log($"Renewal failed ({PkiHttp.OneLine(e.Message)}); retrying in {retry.TotalSeconds:0} s.", error: true);
                    await Task.Delay(retry, cancellationToken);
                    retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, MaxRetry.Ticks));
                }
            }
        }
    }

    /// <summary>
    /// When to renew: renewAfter if the service sent one, else notBefore + 2/3 of the lifetime; plus a random jitter
    /// of up to 5% of the lifetime (at most 10 minutes); never later than notAfter − 1 s (WIRE15.md).
    /// </summary>
    public static DateTimeOffset RenewalTime(DateTimeOffset notBefore, DateTimeOffset notAfter, DateTimeOffset? renewAfter)
    {
        var lifetime = notAfter - notBefore;
        var at = renewAfter ?? notBefore + lifetime * DefaultRenewFraction;
        var jitterSpan = TimeSpan.FromTicks(Math.Min((long)(lifetime.Ticks * 0.05), MaxJitter.Ticks));
        at += TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * jitterSpan.Ticks));
        var latest = notAfter - TimeSpan.FromSeconds(1);
        return at < latest ? at : latest;
    }

    private static async Task DelayUntilAsync(DateTimeOffset due, CancellationToken cancellationToken)
    {
        // In steps: Task.Delay takes at most ~49 days, and a long wait across a suspend should look at the clock again.
        while (due - DateTimeOffset.UtcNow is var left && left > TimeSpan.Zero)
        {
            await Task.Delay(left < TimeSpan.FromHours(1) ? left : TimeSpan.FromHours(1), cancellationToken);
        }
    }

    /// <summary>A new key of the type of the certificate in <paramref name="files"/>.</summary>
    private static KeyPair NewKeyFor(Files files)
    {
        using var current = CertificateFiles.ReadCertificate(files.Certificate);
        return KeyPair.Generate(KeyPair.TypeOf(current));
    }

    /// <summary>One renewal: CSR for <paramref name="pair"/> with the current names, mTLS POST, verify, then swap the files.</summary>
    private static async Task<IssuedCertificate> RenewOnceAsync(CliConfig config, X509Certificate2 root, Files files, KeyPair pair, CancellationToken cancellationToken)
    {
        var chain = new X509Certificate2Collection();
        try
        {
            chain.ImportFromPemFile(files.Certificate);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw CliException.Usage($"Cannot read the certificate {files.Certificate}: {PkiHttp.OneLine(e.Message)}");
        }
        if (chain.Count == 0)
        {
            throw CliException.Usage($"{files.Certificate} holds no certificate.");
        }
        var type = KeyPair.TypeOf(chain[0]);
        if (type == KeyType.Ed25519)
        {
            // .NET's TLS (SslStream) cannot sign with an Ed25519 client key, so there is no mTLS renewal for it here.
            throw CliException.Usage("Ed25519 certificates cannot be renewed by pki (.NET's TLS has no Ed25519 client keys); enroll a new one, or renew with curl.");
        }
        using var current = LoadWithKey(files);
        var intermediates = new X509Certificate2Collection();
        intermediates.AddRange(chain.Skip(1).ToArray());
        var context = SslStreamCertificateContext.Create(current, intermediates, offline: true);

        var san = current.Extensions[Oids.SubjectAltName];
        var commonName = current.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        var csr = pair.CreateCsrPem(commonName, [], san);

        using var http = PkiHttp.Create(config.RenewalBase, root, context);
        var response = await PkiHttp.PostJsonAsync(http, "api/v1/renew", new { csr }, cancellationToken);
        var issued = await PkiHttp.ReadJsonAsync<IssuedCertificate>(response, cancellationToken);
        issued.Verify(pair, root);
        CertificatePair.Write(files.Certificate, files.Key, issued, pair);
        return issued;
    }

    private static X509Certificate2 LoadWithKey(Files files)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(files.Certificate, files.Key);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw CliException.Usage($"Cannot load {files.Certificate} with the key {files.Key}: {PkiHttp.OneLine(e.Message)}");
        }
    }

    /// <summary>Runs the --exec hook through /bin/sh -c; its failure is reported, not fatal (the files are already swapped).</summary>
    private static async Task RunHookAsync(string? hook)
    {
        if (string.IsNullOrWhiteSpace(hook))
        {
            return;
        }
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(hook);
        using var process = Process.Start(start) ?? throw CliException.Usage("Cannot start /bin/sh for --exec.");
        await process.WaitForExitAsync(CancellationToken.None); // a started hook runs to its end, even on SIGTERM
        if (process.ExitCode != 0)
        {
            Log($"--exec exited {process.ExitCode}.", error: true);
        }
    }

    private static void Log(string message, bool error = false) =>
        (error ? Console.Error : Console.Out).WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ} {message}");

    private static class Oids
    {
        public const string SubjectAltName = "2.5.29.17";
    }
}
