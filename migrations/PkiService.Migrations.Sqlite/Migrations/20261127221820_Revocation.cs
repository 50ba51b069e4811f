using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PkiService.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class Revocation : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "InvalidityDate",
                table: "Certificates",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "CrlNumbers",
                columns: table => new
                {
                    IssuerFingerprint = table.Column<string>(type: "TEXT", nullable: false),
                    LastNumber = table.Column<long>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_CrlNumbers", x => x.IssuerFingerprint);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "CrlNumbers");

            migrationBuilder.DropColumn(
                name: "InvalidityDate",
                table: "Certificates");
        }
    }
}
