import ModelwireCodec

/// The console's front page (`/`): the models with their versions and aliases, and the jobs.
/// Bounded: at most `maxModels` models, `maxVersions` versions each and `maxJobs` jobs, with a
/// note saying how many more there are.
struct ConsoleIndexPage {
    static let maxModels = 100
    static let maxVersions = 10
    static let maxJobs = 50

    /// Shown in the title: the server's name and version.
    let server: String
    /// Every model, sorted by name (as ListModels answers).
    let models: [V1.ModelSummary]
    /// Every job, newest first; nil when the caller's role may not list jobs.
    let jobs: [V1.Job]?

    func render() -> String {
        var body = "<h2>Models</h2>\n"
        if models.isEmpty {
            body += "<p class=\"note\">No models yet.</p>\n"
        } else {
            body += "<table class=\"models\">\n<tr><th>model</th><th>task</th><th>versions</th><th>aliases</th></tr>\n"
            for model in models.prefix(Self.maxModels) { body += Self.row(model) }
            body += "</table>\n"
            if models.count > Self.maxModels {
                body += "<p class=\"note\">\(models.count - Self.maxModels) more models are not listed.</p>\n"
            }
        }
        body += "<h2>Jobs</h2>\n"
        if let jobs {
            body += Self.jobTable(jobs)
        } else {
            body += "<p class=\"note\">Listing jobs needs a token with role train.</p>\n"
        }
        return ConsoleDocument.page(title: server, body: body)
    }

    private static func row(_ model: V1.ModelSummary) -> String {
        let name = HTML.pathSegment(model.name)
        let newest = model.versions.reversed().prefix(maxVersions)
        var versions = newest.map { "<a href=\"/models/\(name)/versions/\($0.version)\">v\($0.version)</a>" }
            .joined(separator: " ")
        if model.versions.count > maxVersions {
            versions += " <span class=\"note\">and \(model.versions.count - maxVersions) older</span>"
        }
        let aliases = model.aliases.map {
            "<a href=\"/models/\(name)/versions/\($0.version)\">\(HTML.escape($0.name))</a> → v\($0.version)"
        }.joined(separator: ", ")
        let title: String
        if let latest = model.versions.last {
            title = "<a href=\"/models/\(name)/versions/\(latest.version)\">\(HTML.escape(model.name))</a>"
        } else {
            title = HTML.escape(model.name)
        }
        let task = model.versions.last.map { HTML.escape($0.task.description) } ?? "–"
        return "<tr><td>\(title)</td><td>\(task)</td><td>\(versions)</td><td>\(aliases)</td></tr>\n"
    }

    private static func jobTable(_ jobs: [V1.Job]) -> String {
        guard !jobs.isEmpty else { return "<p class=\"note\">No jobs yet.</p>\n" }
        var html =
            "<table class=\"jobs\">\n"
            + "<tr><th>job</th><th>model</th><th>state</th><th>progress</th><th>created</th></tr>\n"
        for job in jobs.prefix(maxJobs) {
            let state = HTML.escape(job.state.description)
            html += """
                <tr><td><a href="/jobs/\(HTML.pathSegment(job.id))">\(HTML.escape(job.id))</a></td>\
                <td>\(HTML.escape(job.model))</td><td class="state-\(state)">\(state)</td>\
                <td>\(progress(job))</td><td>\(ConsoleDocument.date(job.createdUnixMs))</td></tr>

                """
        }
        html += "</table>\n"
        if jobs.count > maxJobs {
            html += "<p class=\"note\">\(jobs.count - maxJobs) older jobs are not listed.</p>\n"
        }
        return html
    }

    /// "epoch 3/20 · loss 0.41", from the job's latest progress.
    static func progress(_ job: V1.Job) -> String {
        guard let p = job.lastProgress else { return "–" }
        return "epoch \(p.epoch)/\(p.epochs) · loss \(ConsoleDocument.number(p.loss))"
    }
}
