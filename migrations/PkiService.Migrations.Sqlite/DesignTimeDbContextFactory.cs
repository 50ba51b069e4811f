using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using PkiService.Persistence;
using PkiService.Persistence.Sqlite;

namespace PkiService.Migrations;

/// <summary>Lets 'dotnet ef migrations add' build the context without starting the web host.</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<PkiDbContext>
{
    public PkiDbContext CreateDbContext(string[] args) =>
        new((DbContextOptions<PkiDbContext>)new DbContextOptionsBuilder<PkiDbContext>().UsePkiSqlite("Data Source=design-time.db").Options);
}
