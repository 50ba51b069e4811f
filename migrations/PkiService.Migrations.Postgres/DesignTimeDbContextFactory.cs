using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using PkiService.Persistence;
using PkiService.Persistence.Postgres;

namespace PkiService.Migrations.Postgres;

/// <summary>
/// Lets 'dotnet ef migrations add' build the context for PostgreSQL without starting the web host. Adding a migration
/// connects to no server; the connection string only has to parse.
/// </summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<PkiDbContext>
{
    public PkiDbContext CreateDbContext(string[] args) =>
        new((DbContextOptions<PkiDbContext>)new DbContextOptionsBuilder<PkiDbContext>()
            .UsePkiPostgres("Host=localhost;Database=pki_design_time").Options);
}
