import Foundation
import ModelwireCodec
import ModelwireML

/// The read-only web console on the HTTP port: `/` (models and jobs), `/models/{name}` and
/// `/models/{name}/versions/{v}` (a version: curves, confusion matrix), `/jobs/{id}` (a job: state
/// and curve so far). Server-rendered HTML with inline SVG; no scripts, no external assets.
///
/// It obeys the port's authentication: a model page needs role predict (as DescribeModel), a job
/// page role train (as GetJob); the front page lists jobs only for train or above.
enum Console {
    /// Whether the path's segments name a console page (GET only; routed by `HTTPHandler`).
    static func isPage(_ parts: [String]) -> Bool {
        parts.isEmpty || parts[0] == "models" || parts[0] == "jobs"
    }

    /// The page at `parts`, for a caller whose token has `role` (`.admin` when authentication is off).
    /// - Throws: `HTTPError` 404 for an unknown page, model, version or job; 403 for a job page
    ///   below role train.
    static func page(_ parts: [String], service: ModelService, role: AccessRole) throws(HTTPError) -> String {
        switch (parts.count, parts.first) {
        case (0, _):
            let server = "\(service.configuration.serverName) \(service.configuration.serverVersion)"
            return ConsoleIndexPage(
                server: server,
                models: service.repository.list(),
                jobs: role >= .train ? service.jobs.list() : nil
            ).render()
        case (2, "models"):
            return try modelPage(name: parts[1], version: nil, service: service)
        case (4, "models") where parts[2] == "versions":
            guard let version = UInt32(parts[3]), version > 0 else {
                throw HTTPError(status: 404, message: "model version \"\(parts[3])\" is not a positive integer")
            }
            return try modelPage(name: parts[1], version: version, service: service)
        case (2, "jobs"):
            guard role >= .train else {
                throw HTTPError(status: 403, message: "a job's page needs role train; the token has role \(role)")
            }
            return try jobPage(id: decoded(parts[1]), service: service)
        default:
            throw HTTPError(status: 404, message: "no such page: /\(parts.joined(separator: "/"))")
        }
    }

    private static func modelPage(name: String, version: UInt32?, service: ModelService) throws(HTTPError) -> String {
        do {
            let reference = V1.ModelRef(name: decoded(name), selector: version.map { .version($0) })
            let info = try service.repository.describe(reference)
            let entry = try service.repository.resolve(V1.ModelRef(name: info.name, selector: .version(info.version)))
            return ConsoleModelPage(info: info, training: entry.metadata.training).render()
        } catch {
            throw HTTPError(error)
        }
    }

    private static func jobPage(id: String, service: ModelService) throws(HTTPError) -> String {
        let job: V1.Job
        do { job = try service.jobs.job(id) } catch { throw HTTPError(error) }
        let curve: ConsoleJobPage.Curve
        if let epochs = service.jobs.curve(id) {
            curve = .epochs(epochs)
        } else if let result = job.result {
            let reference = V1.ModelRef(name: result.model, selector: .version(result.version))
            if let entry = try? service.repository.resolve(reference) {
                curve = .epochs((entry.metadata.training?.history ?? []).map(TrainingEpoch.init(wire:)))
            } else {
                curve = .unavailable("The job's model \(result.model) v\(result.version) is no longer stored.")
            }
        } else if job.state == .queued || job.state == .running, job.replica != service.jobs.replicaID {
            curve = .unavailable("The job runs on replica \(job.replica), which keeps its curve: see its console.")
        } else if job.state == .queued || job.state == .running {
            curve = .unavailable("A transform job shows no curve while it runs: its version's page will.")
        } else {
            curve = .unavailable("The job ended without a model.")
        }
        return ConsoleJobPage(job: job, curve: curve).render()
    }

    /// A path segment with its percent-encoding undone.
    private static func decoded(_ segment: String) -> String { segment.removingPercentEncoding ?? segment }
}
