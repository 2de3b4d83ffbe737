using Microsoft.Data.Sqlite;

namespace Stele.Storage.Sqlite;

/// <summary>Setting the parameters of a command that is executed many times (a prepared one).</summary>
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
}
