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

    /// <summary>Every Content-Security-Policy violation the page reports, as the browser describes it.</summary>
    private const string CollectCspViolations = """
        window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation', e =>
            window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' "' + e.sample + '" at ' + e.sourceFile + ':' + e.lineNumber));
        """;

    [SkippableFact]
    public async Task SwaggerUi_AuthorizeAndExecuteListCertificates_Renders200UnderItsCspWithoutConsoleErrorsOrStoredKey()
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
        await page.AddInitScriptAsync(CollectCspViolations);
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
        // The page runs under a policy that allows only its own scripts (no inline script, no eval).
        var csp = await response!.HeaderValueAsync("content-security-policy");
        Assert.NotNull(csp);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-", csp, StringComparison.Ordinal);

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

        var violations = await page.EvaluateAsync<string[]>("() => window.__cspViolations");
        // An inline <style> is allowed only by its hash: list them, so a changed one can be recognised.
        var styles = await page.EvaluateAsync<string[]>("() => Array.from(document.querySelectorAll('style')).map(s => s.outerHTML)");
        Assert.True(violations.Length == 0,
            "CSP violations on /swagger:\n" + string.Join('\n', violations) + "\n<style> elements on the page:\n" + string.Join('\n', styles));
        lock (consoleErrors)
        {
            Assert.True(consoleErrors.Count == 0, "Console errors on /swagger:\n" + string.Join('\n', consoleErrors));
        }

        // The admin key lives in the page's memory only: nothing in the browser's storage holds it.
        var storage = await page.EvaluateAsync<string>("() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } })");
        Assert.DoesNotContain(ServiceProcess.AdminApiKey, storage, StringComparison.Ordinal);
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#operations-Certificates-ListCertificates")).ToBeVisibleAsync();
        // After a reload the UI is no longer authorized: the key was not kept anywhere.
        await Assertions.Expect(page.Locator(".auth-wrapper button.authorize")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\bunlocked\b"));
        await browser.CloseAsync();
    }
}
