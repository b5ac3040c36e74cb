import ModelwireCodec
import ModelwireML

/// A model version's page (`/models/{name}/versions/{v}`): what it is, how its training went (the
/// loss and accuracy curves), and its metrics on the training rows with the confusion matrix as a
/// heat map. Feature names are listed up to `maxFeatures`.
struct ConsoleModelPage {
    static let maxFeatures = 100

    /// The version's metadata (as DescribeModel answers).
    let info: V1.ModelVersionInfo
    /// The training summary stored in its model file, if any.
    let training: V1.TrainingSummary?

    func render() -> String {
        var body = "<table class=\"facts\">\n"
        body += ConsoleDocument.row("task", HTML.escape(info.task.description))
        body += ConsoleDocument.row("family", Self.family(info.spec))
        body += ConsoleDocument.row("created", ConsoleDocument.date(info.createdUnixMs))
        body += ConsoleDocument.row(
            "aliases",
            info.aliases.isEmpty ? "–" : HTML.escape(info.aliases.joined(separator: ", "))
        )
        body += ConsoleDocument.row("parameters", "\(info.parameterCount)")
        body += ConsoleDocument.row("file bytes", "\(info.fileBytes)")
        body += ConsoleDocument.row("features", features)
        if !info.classNames.isEmpty {
            body += ConsoleDocument.row(
                "classes",
                "\(info.classNames.count): "
                    + HTML.escape(info.classNames.prefix(Self.maxFeatures).joined(separator: ", "))
            )
        }
        body += "</table>\n<h2>Training</h2>\n"
        if let t = training {
            body += "<table class=\"facts\">\n"
            body += ConsoleDocument.row("epochs run", "\(t.epochsRun)\(t.earlyStopped ? " (stopped early)" : "")")
            body += ConsoleDocument.row("training rows", "\(t.trainingSamples)")
            body += ConsoleDocument.row("duration", "\(ConsoleDocument.number(Float(t.durationSeconds))) s")
            body += ConsoleDocument.row("final loss", ConsoleDocument.number(t.finalLoss))
            body += ConsoleDocument.row("validation loss", ConsoleDocument.number(t.validationLoss))
            body += ConsoleDocument.row("validation accuracy", ConsoleDocument.number(t.validationAccuracy))
            body += "</table>\n"
            body += TrainingCurves.render(t.history.map(TrainingEpoch.init(wire:)))
            if t.history.count < t.epochsRun {
                body +=
                    "<p class=\"note\">\(t.history.count) of \(t.epochsRun) epochs are kept "
                    + "(evenly spaced, the last among them).</p>\n"
            }
        } else {
            body += "<p class=\"note\">The model file has no training summary (imported without one).</p>\n"
        }
        body += "<h2>Metrics on the training rows</h2>\n" + metrics
        let title = "\(info.name) v\(info.version)"
        return ConsoleDocument.page(title: title, body: body)
    }

    private var features: String {
        let names = info.featureNames
        var text = "\(info.inputColumns)"
        if !names.isEmpty { text += ": " + HTML.escape(names.prefix(Self.maxFeatures).joined(separator: ", ")) }
        if names.count > Self.maxFeatures {
            text += " <span class=\"note\">and \(names.count - Self.maxFeatures) more</span>"
        }
        return text
    }

    /// The training-time evaluation: accuracy and per-class scores with the confusion heat map, or
    /// the regression errors.
    private var metrics: String {
        guard let evaluation = info.trainingMetrics else {
            return "<p class=\"note\">No evaluation was stored with this version.</p>\n"
        }
        switch evaluation.kind {
        case .classification(let m)?:
            var html = "<table class=\"facts\">\n"
            html += ConsoleDocument.row("rows", "\(evaluation.rows)")
            html += ConsoleDocument.row("accuracy", ConsoleDocument.number(m.accuracy))
            html += ConsoleDocument.row("log loss", ConsoleDocument.number(m.logLoss))
            html += ConsoleDocument.row("macro F1", ConsoleDocument.number(m.macro?.f1))
            html += "</table>\n<h2>Confusion matrix</h2>\n"
            if let confusion = m.confusion {
                html += ConfusionHeatMap(classNames: info.classNames, counts: confusion.counts).render() + "\n"
            } else {
                html += "<p class=\"note\">No confusion matrix was stored.</p>\n"
            }
            return html
        case .regression(let m)?:
            var html = "<table class=\"facts\">\n"
            html += ConsoleDocument.row("rows", "\(evaluation.rows)")
            html += ConsoleDocument.row("mean squared error", ConsoleDocument.number(m.mse))
            html += ConsoleDocument.row("mean absolute error", ConsoleDocument.number(m.mae))
            html += ConsoleDocument.row("R²", ConsoleDocument.number(m.r2))
            return html + "</table>\n"
        case nil:
            return "<p class=\"note\">The stored evaluation is of a kind this server does not know.</p>\n"
        }
    }

    /// The model family's name.
    private static func family(_ spec: V1.ModelSpec?) -> String {
        switch spec?.family {
        case .dense?: "dense network"
        case .logistic?: "logistic regression"
        case .linearSvm?: "linear SVM"
        case .tree?: "decision tree"
        case .forest?: "random forest"
        case .gbdt?: "gradient-boosted trees"
        case nil: "–"
        }
    }
}
