using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PkiService.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class RevokedAtIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "IX_Certificates_Status_RevokedAt",
                table: "Certificates",
                columns: new[] { "Status", "RevokedAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Certificates_Status_RevokedAt",
                table: "Certificates");
        }
    }
}
