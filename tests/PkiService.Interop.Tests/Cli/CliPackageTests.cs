using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Cli;

/// <summary>
/// The tool installs from the repository as issue 15 says: <c>dotnet pack src/PkiService.Cli -o DIR</c>, then
/// <c>dotnet tool install --tool-path DIR2 --add-source DIR PkiService.Cli</c>, and <c>DIR2/pki --help</c> works. The
/// install reads a NuGet configuration that lists only DIR, so it needs no network at all (the package carries its
/// dependencies, as every .NET tool package does).
/// </summary>
public sealed class CliPackageTests : IDisposable
{
    private readonly TempDirectory _work = new("pki-cli-pack-");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task PackAndToolInstall_FromTheRepository_PkiHelpExits0()
    {
        var repository = RepositoryRoot();
        var packages = Directory.CreateDirectory(_work.File("packages")).FullName;
        var tools = _work.File("tools");
        var dotnet = ServiceProcess.DotnetHost();

        // As the README says (pack builds Release, so the Debug build the other tests run stays as it is).
        (await ExternalCommand.RunAsync(dotnet, ["pack", Path.Combine("src", "PkiService.Cli"), "-o", packages], repository, TimeSpan.FromMinutes(8)))
            .EnsureSuccess();
        Assert.Single(Directory.GetFiles(packages, "PkiService.Cli.*.nupkg"));
        await File.WriteAllTextAsync(_work.File("nuget.config"),
            $"""<?xml version="1.0" encoding="utf-8"?><configuration><packageSources><clear /><add key="local" value="{packages}" /></packageSources></configuration>""");

        (await ExternalCommand.RunAsync(dotnet, ["tool", "install", "--tool-path", tools, "--add-source", packages, "PkiService.Cli",
            "--configfile", _work.File("nuget.config")], _work.Path, TimeSpan.FromMinutes(3))).EnsureSuccess();
        var help = await ExternalCommand.RunAsync(Path.Combine(tools, "pki"), ["--help"], _work.Path);

        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains("bootstrap", help.StandardOutput);
        Assert.Contains("renew", help.StandardOutput);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PkiService.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No PkiService.sln above {AppContext.BaseDirectory}.");
    }
}
