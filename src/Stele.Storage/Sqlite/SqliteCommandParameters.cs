using Microsoft.Data.Sqlite;

namespace Stele.Storage.Sqlite;

/// <summary>Commands executed many times (prepared ones): keeping them, and setting their parameters.</summary>
internal static class SqliteCommandParameters
{
    /// <summary>Sets <paramref name="name"/> to <paramref name="value"/> (null as SQL NULL), adding the parameter the first time.</summary>
    public static SqliteCommand Set(this SqliteCommand command, string name, object? value)
    {
        var index = command.Parameters.IndexOf(name);
        if (index < 0)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        else
        {
            command.Parameters[index].Value = value ?? DBNull.Value;
        }

        return command;
    }

    /// <summary>
    /// A statement of <paramref name="connection"/> kept prepared in <paramref name="cache"/> across
    /// transactions (a writer runs the same few statements each time), with its parameters declared in
    /// the order given, enlisted in <paramref name="transaction"/>. Call under the writer's gate.
    /// </summary>
    public static SqliteCommand Cached(
        this Dictionary<string, SqliteCommand> cache, SqliteConnection connection, SqliteTransaction? transaction, string sql, params string[] parameters)
    {
        if (!cache.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in parameters)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            cache[sql] = command;
        }

        command.Transaction = transaction;
        return command;
    }
}
