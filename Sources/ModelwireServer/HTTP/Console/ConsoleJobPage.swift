import ModelwireCodec
import ModelwireML

/// A job's page (`/jobs/{id}`): its state, its latest progress and its curve so far. While the job
/// is queued or running the page reloads itself every `refreshSeconds` (a meta refresh: no script).
struct ConsoleJobPage {
    static let refreshSeconds = 2

    /// Where the curve comes from.
    enum Curve {
        /// The epochs so far: the running job's (kept by this server), or the stored model's once
        /// the job succeeded.
        case epochs([TrainingEpoch])
        /// Not at hand here, and why (another replica runs the job; the model was deleted; …).
        case unavailable(String)
    }

    let job: V1.Job
    let curve: Curve

    func render() -> String {
        let state = HTML.escape(job.state.description)
        let active = job.state == .queued || job.state == .running
        var body = "<table class=\"facts\">\n"
        body += ConsoleDocument.row("model", HTML.escape(job.model))
        body += ConsoleDocument.row("state", "<span class=\"state-\(state)\">\(state)</span>")
        if !job.replica.isEmpty { body += ConsoleDocument.row("replica", HTML.escape(job.replica)) }
        body += ConsoleDocument.row("created", ConsoleDocument.date(job.createdUnixMs))
        body += ConsoleDocument.row("started", ConsoleDocument.date(job.startedUnixMs))
        body += ConsoleDocument.row("finished", ConsoleDocument.date(job.finishedUnixMs))
        if let p = job.lastProgress {
            body += ConsoleDocument.row("progress", HTML.escape(ConsoleIndexPage.progress(job)))
            body += ConsoleDocument.row("rows per second", ConsoleDocument.number(p.samplesPerSecond))
            if active { body += ConsoleDocument.row("time left", "\(ConsoleDocument.number(p.etaSeconds)) s") }
        }
        if let result = job.result {
            let link = "/models/\(HTML.pathSegment(result.model))/versions/\(result.version)"
            body += ConsoleDocument.row(
                "result",
                "<a href=\"\(link)\">\(HTML.escape(result.model)) v\(result.version)</a>"
            )
        }
        if let error = job.error {
            body += ConsoleDocument.row("error", "<span class=\"error\">\(HTML.escape(error.message))</span>")
        }
        body += "</table>\n<h2>Curve</h2>\n"
        switch curve {
        case .epochs(let epochs) where epochs.isEmpty && active:
            body += "<p class=\"note\">No epoch has ended yet.</p>\n"
        case .epochs(let epochs):
            body += TrainingCurves.render(epochs)
        case .unavailable(let reason):
            body += "<p class=\"note\">\(HTML.escape(reason))</p>\n"
        }
        return ConsoleDocument.page(
            title: "Job \(job.id)",
            body: body,
            refreshSeconds: active ? Self.refreshSeconds : nil
        )
    }
}
