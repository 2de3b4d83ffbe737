using System.Buffers;
using System.Text;
using System.Text.Json;
using Stele.Server.Api;
using Stele.Storage;

namespace Stele.Server.Exports;

/// <summary>
/// Writes events as RFC 4180 CSV: UTF-8, CRLF line ends, a header row, one column per field of the
/// API's event JSON (<see cref="EventJson"/>), nested values (targets, metadata) as compact JSON
/// text. Cells are quoted when they hold a comma, quote, CR or LF, with quotes doubled.
/// </summary>
/// <remarks>
/// Formula injection (OWASP, "CSV Injection"): a cell that starts with <c>=</c>, <c>+</c>, <c>-</c>,
/// <c>@</c>, a tab or a carriage return is prefixed with <c>'</c>, so a spreadsheet shows it as
/// text instead of evaluating it. The prefix applies to every column, hashes and numbers included
/// (none of those can start with such a character).
/// </remarks>
internal sealed class CsvEventWriter(TextWriter output)
{
    /// <summary>The columns, in the order of <see cref="EventJson.Write"/>.</summary>
    public static readonly string[] Columns =
    [
        "id", "ledger", "seq", "received_at", "occurred_at", "actor_id", "actor_name", "actor_type", "action",
        "action_category", "resource", "resource_id", "resource_name", "targets", "metadata", "tenant_id",
        "session_id", "ip_address", "ip_country", "ip_city", "user_agent", "outcome", "version", "idempotency_key",
        "payload_erased", "leaf_hash", "chain_hash", "payload_digest",
    ];

    private readonly ArrayBufferWriter<byte> _buffer = new(4096);

    public void WriteHeader() => WriteRow(Columns);

    public void Write(string ledger, StoredEvent stored)
    {
        _buffer.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            EventJson.Write(w, ledger, stored);
        }

        using var document = JsonDocument.Parse(_buffer.WrittenMemory);
        var root = document.RootElement;
        var cells = new string[Columns.Length];
        for (var i = 0; i < Columns.Length; i++)
        {
            cells[i] = root.TryGetProperty(Columns[i], out var value) ? CellText(value) : string.Empty;
        }

        WriteRow(cells);
    }

    /// <summary>The text of one cell: strings as they are, null as empty, anything else as its JSON.</summary>
    internal static string CellText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Null or JsonValueKind.Undefined => string.Empty,
        _ => value.GetRawText(),
    };

    /// <summary>Neutralises a cell a spreadsheet would read as a formula (OWASP CSV injection).</summary>
    internal static string Neutralise(string cell) =>
        cell.Length > 0 && cell[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + cell : cell;

    /// <summary>Writes one row: each cell neutralised, then quoted if needed.</summary>
    internal void WriteRow(IReadOnlyList<string> cells)
    {
        for (var i = 0; i < cells.Count; i++)
        {
            if (i > 0)
            {
                output.Write(',');
            }

            WriteCell(Neutralise(cells[i]));
        }

        output.Write("\r\n");
    }

    private void WriteCell(string cell)
    {
        if (cell.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            output.Write(cell);
            return;
        }

        var quoted = new StringBuilder(cell.Length + 8).Append('"');
        foreach (var c in cell)
        {
            quoted.Append(c);
            if (c == '"')
            {
                quoted.Append('"');
            }
        }

        output.Write(quoted.Append('"').ToString());
    }
}
