using Microsoft.Playwright;
using PkiService.Interop.Tests.Infrastructure;

namespace PkiService.Interop.Tests.Swagger;

/// <summary>
/// The Swagger UI admin console in a real headless chromium, driven by Playwright (its bundled node driver from the
/// NuGet package; the browser is the system's <c>/usr/bin/chromium</c>, never a downloaded one).
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class SwaggerUiBrowserTests(ServiceProcess service)
{
    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    private const float TimeoutMs = 30_000;

    [SkippableFact]
    public async Task SwaggerUi_AuthorizeAndExecuteListCertificates_Renders200WithoutConsoleErrors()
    {
        var chromium = RequiredTool.Chromium();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Args = ChromiumArgs,
            Headless = true,
            Timeout = TimeoutMs,
        });
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(TimeoutMs);
        var consoleErrors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (consoleErrors)
                {
                    consoleErrors.Add($"console.error: {message.Text} ({message.Location})");
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (consoleErrors)
            {
                consoleErrors.Add($"uncaught: {error}");
            }
        };

        var response = await page.GotoAsync(new Uri(service.BaseAddress, "swagger").ToString());
        Assert.Equal(200, response?.Status);

        // The operations are rendered from /swagger/v1/swagger.json.
        var enroll = page.Locator("#operations-Enrollment-Enroll");
        var list = page.Locator("#operations-Certificates-ListCertificates");
        await Assertions.Expect(enroll).ToContainTextAsync("/api/v1/enroll");
        await Assertions.Expect(enroll).ToContainTextAsync("Enroll a CSR with a one-time enrollment token");
        await Assertions.Expect(list).ToContainTextAsync("/api/v1/certificates");
        await Assertions.Expect(list).ToContainTextAsync("List issued certificates");

        // Authorize with the admin API key, then close the dialog.
        await page.Locator(".auth-wrapper button.authorize").ClickAsync();
        var dialog = page.Locator(".dialog-ux .modal-ux");
        await Assertions.Expect(dialog).ToBeVisibleAsync();
        await dialog.Locator("#auth-bearer-value").FillAsync(ServiceProcess.AdminApiKey);
        await dialog.Locator(".auth-btn-wrapper button.authorize").ClickAsync();
        await Assertions.Expect(dialog.GetByText("Authorized", new() { Exact = true })).ToBeVisibleAsync();
        await Assertions.Expect(dialog.GetByRole(AriaRole.Button, new() { Name = "Remove authorization" })).ToBeVisibleAsync();
        await dialog.Locator(".auth-btn-wrapper button.btn-done").ClickAsync();
        await Assertions.Expect(dialog).ToBeHiddenAsync();

        // GET /api/v1/certificates: expand, Try it out, Execute.
        await list.Locator(".opblock-summary").First.ClickAsync();
        await list.Locator("button.try-out__btn").ClickAsync();
        await list.Locator("button.execute").ClickAsync();

        var liveResponse = list.Locator(".live-responses-table .response");
        await Assertions.Expect(liveResponse.Locator(".response-col_status")).ToHaveTextAsync("200");
        await Assertions.Expect(liveResponse.Locator(".response-col_description")).ToContainTextAsync("\"total\"");
        await Assertions.Expect(list.Locator(".curl-command")).ToContainTextAsync($"Authorization: Bearer {ServiceProcess.AdminApiKey}");

        lock (consoleErrors)
        {
            Assert.True(consoleErrors.Count == 0, "Console errors on /swagger:\n" + string.Join('\n', consoleErrors));
        }
        await browser.CloseAsync();
    }
}
