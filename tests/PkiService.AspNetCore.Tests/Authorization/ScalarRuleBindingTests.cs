using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace PkiService.AspNetCore.Tests.Authorization;

/// <summary>Rules given on the command line as one value, as the SampleApi example does.</summary>
public sealed class ScalarRuleBindingTests
{
    [Fact]
    public void Bind_ScalarOnTheCommandLine_IsEmptyWithoutTheFix()
    {
        // What ConfigurationBinder alone makes of it: a List<string> binds from children only.
        var configuration = new ConfigurationBuilder().AddCommandLine(["--PkiClient:Authorization:admins:SpiffePrefix=spiffe://x/admin/"]).Build();

        var options = configuration.GetSection("PkiClient").Get<PkiClientOptions>()!;

        Assert.Empty(options.Authorization["admins"].SpiffePrefix);
    }

    [Fact]
    public void Options_ScalarOnTheCommandLine_BecomesTheOnlyEntry()
    {
        var options = Resolve("--PkiClient:Authorization:admins:SpiffePrefix=spiffe://x/admin/", "--PkiClient:Authorization:ops:Profile=client");

        Assert.Equal(["spiffe://x/admin/"], options.Authorization["admins"].SpiffePrefix);
        Assert.Equal(["client"], options.Authorization["ops"].Profile);
    }

    [Fact]
    public void Options_IndexedList_BindsEveryEntryOnce()
    {
        var options = Resolve("--PkiClient:Authorization:admins:CommonName:0=alice", "--PkiClient:Authorization:admins:CommonName:1=bob");

        Assert.Equal(["alice", "bob"], options.Authorization["admins"].CommonName);
    }

    private static PkiClientOptions Resolve(params string[] args)
    {
        var configuration = new ConfigurationBuilder().AddCommandLine(args).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddOptions<PkiClientOptions>().Bind(configuration.GetSection(PkiClientOptions.SectionName));
        services.AddClientCertificateChecks();
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<PkiClientOptions>>().Value;
    }
}
