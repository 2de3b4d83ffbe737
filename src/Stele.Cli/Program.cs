using Stele.Cli;
using Stele.Cli.Commands;

return await Cli.RunAsync(args).ConfigureAwait(false);
