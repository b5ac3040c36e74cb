import ArgumentParser

/// `modelwire`: the command-line client of a Modelwire server.
@main
struct ModelwireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modelwire",
        abstract: "Train, evaluate and serve models on a Modelwire server.",
        discussion: """
            Every command takes --server host:port (default 127.0.0.1:7411) and --json.
            Exit status: 0 success, 1 a call failed (status code and message on stderr), 64 usage error.
            """,
        version: "0.1.0",
        subcommands: [Train.self, Evaluate.self, Predict.self, Models.self, Jobs.self, Datasets.self, Health.self, Info.self])
}
