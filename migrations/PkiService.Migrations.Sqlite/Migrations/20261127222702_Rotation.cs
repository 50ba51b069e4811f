using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PkiService.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class Rotation : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "SupersededBy",
                table: "Certificates",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "ExpiryNotifications",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    CertificateId = table.Column<long>(type: "INTEGER", nullable: false),
                    SerialNumber = table.Column<string>(type: "TEXT", nullable: false),
                    Threshold = table.Column<string>(type: "TEXT", nullable: false),
                    Channel = table.Column<string>(type: "TEXT", nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    DeliveryId = table.Column<string>(type: "TEXT", nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    NextAttemptAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LastError = table.Column<string>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    SentAt = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ExpiryNotifications", x => x.Id);
                    table.ForeignKey(
                        name: "FK_ExpiryNotifications_Certificates_CertificateId",
                        column: x => x.CertificateId,
                        principalTable: "Certificates",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ExpiryNotifications_CertificateId_Threshold_Channel",
                table: "ExpiryNotifications",
                columns: new[] { "CertificateId", "Threshold", "Channel" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_ExpiryNotifications_Status_NextAttemptAt",
                table: "ExpiryNotifications",
                columns: new[] { "Status", "NextAttemptAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ExpiryNotifications");

            migrationBuilder.DropColumn(
                name: "SupersededBy",
                table: "Certificates");
        }
    }
}
