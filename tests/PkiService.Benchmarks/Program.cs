using System.Globalization;
using PkiService.Benchmarks;

// Commands (dotnet run -c Release --project tests/PkiService.Benchmarks -- <command> ...; "RESULT name=value" lines are
// what ops/bench/run.sh reads):
//   expiry-scan [certificates]                       one expiry scan over N seeded certificates (default 100,000)
//   crl-build [entries]                              CRL build+sign, streaming writer vs BouncyCastle (default 10k, 100k and 1M)
//   revocation-visibility [certificates]             revoke -> full and delta CRL list it, through CrlPublisher (default 1,000,000)
//   sign-speed [seconds]                             raw .NET ECDSA P-256 signing, 1 thread and all cores
//   issue-speed [seconds]                            certificates per second from CSRs in process (no HTTP, no DB)
//   enroll-load <url> <data-dir> [clients] [seconds] enrollment end to end against a running service, from a .NET client
//   enroll-seed <data-dir> <count> <tokens-file> <bodies-file>   tokens and CSR bodies for ops/bench/enroll.lua (wrk)
//   enroll-check <data-dir> <serials-dir>            every serial wrk was answered with is a committed certificate
//                                                    (enroll-load/-seed/-check: "postgres:<Npgsql connection string>" in
//                                                    place of <data-dir> for a node on PostgreSQL)
//   ocsp-cache-memory [rows]                         the OCSP cache's per-row byte estimates against the heap its rows keep (default 50,000)
//   mtls-load <url> <cert.pem> <key.pem> <root.pem> [connections] [seconds] [warm-up seconds]
//                                                    GET a URL over mTLS with a client certificate, one kept-alive
//                                                    connection per worker (default 16 connections, 10 s, 3 s warm-up)
//   bdn [BenchmarkDotNet arguments]                  the in-process BenchmarkDotNet suite, e.g. bdn --filter '*Ocsp*'
var command = args.FirstOrDefault() ?? "expiry-scan";
int? Count(int index) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : null;
switch (command)
{
    case "expiry-scan":
        await ExpiryScanBenchmark.RunAsync(Count(1) ?? 100_000);
        return 0;
    case "crl-build":
        await CrlBuildBenchmark.RunAsync(Count(1) is { } entries ? [entries] : [10_000, 100_000, 1_000_000]);
        return 0;
    case "revocation-visibility":
        await RevocationVisibilityBenchmark.RunAsync(Count(1) ?? 1_000_000);
        return 0;
    case CrlBuildBenchmark.ChildCommand:
        CrlBuildBenchmark.RunOne(args[1], Count(2)!.Value);
        return 0;
    case "sign-speed":
        SpeedBenchmarks.SignSpeed(TimeSpan.FromSeconds(Count(1) ?? 3));
        return 0;
    case "issue-speed":
        SpeedBenchmarks.IssueSpeed(TimeSpan.FromSeconds(Count(1) ?? 3));
        return 0;
    case "ocsp-cache-memory":
        await OcspCacheMemoryBenchmark.RunAsync(Count(1) ?? 50_000);
        return 0;
    case "bdn":
        // In-process toolchain: BenchmarkDotNet's generated projects would inherit this repository's central package
        // management and warnings-as-errors, and fail to build.
        BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(ExpiryScanBenchmark).Assembly)
            .Run(args[1..].Contains("--inProcess") ? args[1..] : [.. args[1..], "--inProcess"]);
        return 0;
    case "enroll-load" when args.Length >= 3:
        await EnrollmentLoad.RunAsync(new Uri(args[1]), args[2], Count(3) ?? 32, TimeSpan.FromSeconds(Count(4) ?? 30));
        return 0;
    case "enroll-seed" when args.Length >= 5:
        await EnrollmentLoad.SeedForExternalLoadAsync(args[1], Count(2)!.Value, args[3], args[4]);
        return 0;
    case "enroll-check" when args.Length >= 3:
        return await EnrollmentLoad.CheckExternalLoadAsync(args[1], args[2]);
    case "mtls-load" when args.Length >= 5:
        await MtlsLoad.RunAsync(new Uri(args[1]), args[2], args[3], args[4], Count(5) ?? 16,
            args.Length > 6 ? MtlsLoad.Seconds(args[6]) : TimeSpan.FromSeconds(10), args.Length > 7 ? MtlsLoad.Seconds(args[7]) : TimeSpan.FromSeconds(3));
        return 0;
    default:
        Console.Error.WriteLine("usage: mtls-load <url> <cert> <key> <root> [connections] [seconds] [warm-up] | expiry-scan [n] | crl-build [n] | revocation-visibility [n] | sign-speed [s] | issue-speed [s] | ocsp-cache-memory [rows] | enroll-load <url> <data-dir> [clients] [seconds] | enroll-seed <data-dir> <count> <tokens> <bodies> | enroll-check <data-dir> <serials-dir> | bdn [args]");
        return 2;
}
