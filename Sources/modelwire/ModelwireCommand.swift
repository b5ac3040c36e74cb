import ArgumentParser

/// `modelwire`: the command-line client of a Modelwire server.
@main
struct ModelwireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modelwire",
        abstract: "Train, evaluate and serve models on a Modelwire server.",
        discussion: """
            Every command takes --server host:port (default 127.0.0.1:7411, or MODELWIRE_SERVER), --json, \
            --timeout SECONDS and --verbose, before or after the subcommand. Exit status: 0 success, \
            1 a call failed (status code and message on stderr), 64 usage error, 130 interrupted.
            """,
        version: "0.1.0",
        subcommands: [
            Train.self, Tune.self, Evaluate.self, Predict.self, Explain.self, Quantize.self, Prune.self, Distill.self,
            Models.self,
            Jobs.self,
            Datasets.self,
            Health.self, Info.self,
        ]
    )

    /// Lets the shared flags come before the subcommand (`modelwire --server h:p models list`).
    static func main() async {
        await self.main(Self.hoistingSharedOptions(Array(CommandLine.arguments.dropFirst())))
    }

    /// Moves `--server`, `--timeout` (with their values), `--json` and `--verbose` found before the
    /// first subcommand word to the end, where the subcommand's `ClientOptions` parse them.
    static func hoistingSharedOptions(_ arguments: [String]) -> [String] {
        var hoisted: [String] = []
        var rest: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("-") else { break }
            if argument == "--server" || argument == "--timeout", index + 1 < arguments.count {
                hoisted += [argument, arguments[index + 1]]
                index += 2
            } else if argument.hasPrefix("--server=") || argument.hasPrefix("--timeout=") || argument == "--json"
                || argument == "--verbose"
            {
                hoisted.append(argument)
                index += 1
            } else {
                rest.append(argument)
                index += 1
            }
        }
        return rest + arguments[index...] + hoisted
    }
}
