using PkiService.Benchmarks;

// Usage: dotnet run -c Release --project tests/PkiService.Benchmarks -- expiry-scan [certificates]
var command = args.FirstOrDefault() ?? "expiry-scan";
switch (command)
{
    case "expiry-scan":
        await ExpiryScanBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000);
        return 0;
    default:
        Console.Error.WriteLine($"unknown benchmark '{command}'; known: expiry-scan [certificates]");
        return 2;
}
