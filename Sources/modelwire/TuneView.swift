import Foundation
import ModelwireClient
import ModelwireCodec

/// Shows a Tune job's events: a line per finished trial and the final table sorted by score, or
/// JSON lines (`accepted`, `trial`, `result`).
struct TuneView {
    var json: Bool

    /// Follows `events` to the end.
    /// - Returns: The result, or nil when the stream ended without one.
    mutating func follow(_ events: TrainEvents) async throws -> V1.TrainResult? {
        var result: V1.TrainResult?
        for try await event in events {
            if !event.jobId.isEmpty { InterruptHint.watch(jobID: event.jobId) }
            switch event.event {
            case .accepted(let accepted):
                if json {
                    Output.line(
                        JSON.object([
                            ("event", .string("accepted")), ("job_id", .string(event.jobId)),
                            ("queue_position", .uint(UInt64(accepted.queuePosition))),
                        ]).rendered
                    )
                } else {
                    Output.line(
                        "job \(event.jobId) accepted"
                            + (accepted.queuePosition == 0 ? "" : " (queue position \(accepted.queuePosition))")
                    )
                }
            case .progress(let p):
                guard let trial = p.trial else { break }
                if json {
                    Output.line(
                        Self.trialShape(trial, done: p.epoch, of: p.epochs, eta: p.etaSeconds, jobID: event.jobId)
                            .rendered
                    )
                } else {
                    Output.line(
                        "trial \(p.epoch)/\(p.epochs)  \(Self.settings(trial))  \(Self.score(trial))  folds "
                            + trial.foldScores.map { String(format: "%.4f", $0) }.joined(separator: " ")
                            + String(format: "  (%.1f s, ETA %.0f s)", trial.seconds, p.etaSeconds)
                    )
                }
            case .result(let r):
                result = r
                if json {
                    var shape = Shapes.result(r, jobID: event.jobId)
                    if case .object(let fields) = shape, let tune = r.tune {
                        shape = .object(fields + [("tune", Self.tableShape(tune))])
                    }
                    Output.line(shape.rendered)
                }
            case nil: break
            }
        }
        return result
    }

    /// The final table: every trial, best first, then where the refit went.
    func table(_ r: V1.TrainResult) {
        guard let tune = r.tune else { return }
        let metric = Self.metricName(tune.metric)
        Output.line("")
        Output.line("rank  trial  \(metric) mean ± std      settings")
        for t in tune.trials.sorted(by: { $0.rank < $1.rank }) {
            Output.line(
                String(format: "%4u  %5u  %.4f ± %.4f  ", t.rank, t.index, t.mean, t.std) + Self.settings(t)
            )
        }
        if Int(tune.best) < tune.trials.count {
            let best = tune.trials[Int(tune.best)]
            Output.line(
                "best: \(Self.settings(best)) (\(metric) \(String(format: "%.4f", best.mean)) over \(tune.folds) folds); "
                    + "refit on all rows as \(r.model) v\(r.version) in \(String(format: "%.1f", r.durationSeconds)) s"
            )
        }
    }

    static func settings(_ t: V1.TuneTrial) -> String {
        t.settings.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
    }

    static func score(_ t: V1.TuneTrial) -> String { String(format: "%.4f ± %.4f", t.mean, t.std) }

    static func metricName(_ m: V1.TuneMetric) -> String {
        switch m {
        case .accuracy: "accuracy"
        case .f1Macro: "f1_macro"
        case .logLoss: "log_loss"
        case .rmse: "rmse"
        case .r2: "r2"
        default: "score"
        }
    }

    /// `{"event": "trial", "job_id", "done", "trials", "index", "settings": {name: value}, "fold_scores", "mean", "std", "seconds", "eta_seconds"}`.
    static func trialShape(_ t: V1.TuneTrial, done: UInt32, of trials: UInt32, eta: Float, jobID: String) -> JSON {
        .object([
            ("event", .string("trial")), ("job_id", .string(jobID)),
            ("done", .uint(UInt64(done))), ("trials", .uint(UInt64(trials))),
            ("index", .uint(UInt64(t.index))),
            ("settings", .object(t.settings.map { ($0.name, .string($0.value)) })),
            ("fold_scores", .array(t.foldScores.map(JSON.double))),
            ("mean", .double(t.mean)), ("std", .double(t.std)),
            ("seconds", .float(t.seconds)), ("eta_seconds", .float(eta)),
        ])
    }

    /// The result's `tune`: `{"metric", "greater_is_better", "folds", "combinations", "best", "seed", "stratified", "trials": [...]}`.
    static func tableShape(_ r: V1.TuneReport) -> JSON {
        .object([
            ("metric", .string(metricName(r.metric))), ("greater_is_better", .bool(r.greaterIsBetter)),
            ("folds", .uint(UInt64(r.folds))), ("combinations", .uint(r.combinations)),
            ("best", .uint(UInt64(r.best))), ("seed", .uint(r.seed)), ("stratified", .bool(r.stratified)),
            (
                "trials",
                .array(
                    r.trials.map {
                        .object([
                            ("index", .uint(UInt64($0.index))), ("rank", .uint(UInt64($0.rank))),
                            ("settings", .object($0.settings.map { ($0.name, .string($0.value)) })),
                            ("fold_scores", .array($0.foldScores.map(JSON.double))),
                            ("mean", .double($0.mean)), ("std", .double($0.std)), ("seconds", .float($0.seconds)),
                        ])
                    }
                )
            ),
        ])
    }
}
