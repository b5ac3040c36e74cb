import ModelwireClient

/// How long one step runs: a warm-up that is not recorded, then either a fixed duration or a
/// fixed number of calls.
struct StepPlan: Sendable {
    enum Length: Sendable {
        case duration(seconds: Double)
        case calls(Int)
    }

    var warmupSeconds: Double
    var length: Length
    var callOptions: ModelwireClient.CallOptions
}

/// What a step measured, before it is summarised.
struct StepMeasurement: Sendable {
    var recorder: Recorder
    /// The measured window, seconds.
    var elapsedSeconds: Double
    /// When the measured window began, Unix seconds.
    var startUnixSeconds: Double
    /// CPU seconds per process over the window.
    var cpuSeconds: [String: Double]
}
