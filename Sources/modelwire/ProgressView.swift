import ModelwireClient
import ModelwireCodec

/// Shows a training job's events: a live bar on a terminal, plain lines otherwise, or JSON lines.
struct ProgressView {
    var json: Bool
    var terminal = Output.isTerminal
    private var barShown = false

    init(json: Bool) {
        self.json = json
    }

    /// Follows `events` to the end.
    /// - Returns: The result, or nil when the stream ended without one.
    mutating func follow(_ events: TrainEvents, options: ClientOptions) async throws -> V1.TrainResult? {
        var result: V1.TrainResult?
        do {
            for try await event in events {
                if !event.jobId.isEmpty { InterruptHint.watch(jobID: event.jobId) }
                if let r = self.show(event) { result = r }
            }
        } catch {
            self.endBar()
            throw error
        }
        self.endBar()
        return result
    }

    /// Prints one event; returns the result when it is one.
    mutating func show(_ event: V1.TrainEvent) -> V1.TrainResult? {
        switch event.event {
        case .accepted(let accepted):
            if self.json {
                Output.line(
                    JSON.object([
                        ("event", .string("accepted")), ("job_id", .string(event.jobId)),
                        ("queue_position", .uint(UInt64(accepted.queuePosition))),
                    ]).rendered
                )
            } else {
                let queue = accepted.queuePosition == 0 ? "starting now" : "queue position \(accepted.queuePosition)"
                Output.line("job \(event.jobId) accepted (\(queue))")
            }
        case .progress(let p):
            if self.json {
                Output.line(Shapes.progress(p, jobID: event.jobId).rendered)
            } else if self.terminal {
                self.bar(p)
            } else {
                Output.line(Self.plain(p))
            }
        case .result(let r):
            if self.json {
                Output.line(Shapes.result(r, jobID: event.jobId).rendered)
            } else {
                self.endBar()
            }
            return r
        case nil:
            break
        }
        return nil
    }

    /// The training metrics of a progress event that has them. Tree families report none, and
    /// full-batch L-BFGS no accuracy (the wire then carries 0): those are left out rather than
    /// shown as 0.0000.
    static func metrics(_ p: V1.TrainProgress) -> [(String, Float)] {
        guard p.loss != 0 || p.accuracy != 0 else { return [] }
        return p.accuracy == 0 ? [("loss", p.loss)] : [("loss", p.loss), ("accuracy", p.accuracy)]
    }

    static func plain(_ p: V1.TrainProgress) -> String {
        var text = "epoch \(p.epoch)/\(p.epochs) batch \(p.batch)/\(p.batches)"
        for (name, value) in Self.metrics(p) { text += " \(name) \(Output.fixed(value))" }
        if let v = p.validationLoss { text += " val_loss \(Output.fixed(v))" }
        if let v = p.validationAccuracy { text += " val_accuracy \(Output.fixed(v))" }
        text += " eta \(Output.duration(p.etaSeconds))"
        return text
    }

    private mutating func bar(_ p: V1.TrainProgress) {
        let width = 24
        let total = Double(max(1, p.epochs)) * Double(max(1, p.batches))
        let done = Double(max(0, Int(p.epoch) - 1)) * Double(max(1, p.batches)) + Double(p.batch)
        let fraction = min(1, max(0, done / total))
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        var text = "\repoch \(p.epoch)/\(p.epochs) [\(bar)] \(Int(fraction * 100))%"
        for (name, value) in Self.metrics(p) { text += "  \(name == "accuracy" ? "acc" : name) \(Output.fixed(value))" }
        if let v = p.validationLoss { text += "  val_loss \(Output.fixed(v))" }
        if let v = p.validationAccuracy { text += "  val_acc \(Output.fixed(v))" }
        text += "  ETA \(Output.duration(p.etaSeconds))\u{1B}[K"
        Output.raw(text)
        self.barShown = true
        if p.epochEnd { self.endBar() }  // one line per finished epoch stays on screen
    }

    private mutating func endBar() {
        if self.barShown {
            Output.raw("\n")
            self.barShown = false
        }
    }

    /// The human summary of a finished training.
    static func summary(_ r: V1.TrainResult) -> String {
        var text = "trained \(r.model) version \(r.version) in \(Output.duration(r.durationSeconds))"
        text +=
            " (\(r.epochsRun) epoch\(r.epochsRun == 1 ? "" : "s")\(r.earlyStopped ? ", stopped early" : ""), seed \(r.seed))"
        if let evaluation = r.metrics {
            text += "\n" + Report.brief(evaluation)
        }
        return text
    }
}
