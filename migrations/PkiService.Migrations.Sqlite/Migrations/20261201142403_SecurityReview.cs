using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PkiService.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class SecurityReview : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<TimeSpan>(
                name: "MaxValidity",
                table: "EnrollmentTokens",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "Mac",
                table: "AuditEvents",
                type: "BLOB",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "NamePolicy",
                table: "ApiKeys",
                type: "TEXT",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "MaxValidity",
                table: "EnrollmentTokens");

            migrationBuilder.DropColumn(
                name: "Mac",
                table: "AuditEvents");

            migrationBuilder.DropColumn(
                name: "NamePolicy",
                table: "ApiKeys");
        }
    }
}
