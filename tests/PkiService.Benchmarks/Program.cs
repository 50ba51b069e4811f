using System.Globalization;
using PkiService.Benchmarks;

// Usage: dotnet run -c Release --project tests/PkiService.Benchmarks -- <command> [argument]
//   expiry-scan [certificates]            one expiry scan over N certificates (default 100,000)
//   crl-build [entries]                   CRL build+sign, streaming writer vs BouncyCastle (default 10k, 100k and 1M)
//   revocation-visibility [certificates]  revoke -> full and delta CRL list it, through CrlPublisher (default 1,000,000)
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
    default:
        Console.Error.WriteLine($"unknown benchmark '{command}'; known: expiry-scan [certificates], crl-build [entries], revocation-visibility [certificates]");
        return 2;
}
