using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PkiService.Migrations.Postgres.Migrations
{
    /// <inheritdoc />
    public partial class AuditTimeBelowMicrosecond : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<byte>(
                name: "TimeTicksBelowMicrosecond",
                table: "AuditEvents",
                type: "smallint",
                nullable: false,
                defaultValue: (byte)0);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "TimeTicksBelowMicrosecond",
                table: "AuditEvents");
        }
    }
}
