import ModelwireCodec
import ModelwireProtocol

extension ModelService {
    /// A job's event stream as a call sees it: the job and the subscription to end on CANCEL.
    struct JobSubscription: Sendable {
        let job: String
        let id: UInt64
    }

    /// Train: queues a job and streams its events (accepted, progress, result) to `subscriber`.
    func train(_ request: V1.TrainRequest, subscriber: @escaping JobManager.Subscriber) throws -> JobSubscription {
        var request = request
        // A table is fitted and encoded here, so its errors come before a job exists.
        var preprocessing: V1.Preprocessing?
        switch request.data {
        case .table(let table)?:
            let fitted = try TableRows.fit(
                table,
                spec: request.preprocessing,
                task: request.spec?.task ?? .classification
            )
            request.data = .inlineData(fitted.rows)
            preprocessing = fitted.preprocessing
        case .inlineData? where request.preprocessing != nil:
            throw JobManager.preprocessingWithoutTable
        default: break
        }
        // Inline rows are checked here, before a job exists; stored datasets in the job.
        var inline: V1.Dataset?
        if case .inlineData(let rows)? = request.data { inline = rows }
        try request.checkConsistency(rows: inline)
        try inline?.checkClassLabelsAreCategorical()
        try request.checkResourceCaps(configuration.trainingCaps, shape: trainingShape(request))
        let (job, id) = try jobs.submit(request, preprocessing: preprocessing, subscriber: subscriber)
        return JobSubscription(job: job, id: id)
    }

    /// The shape of a request's training data: inline rows, or a stored dataset's index entry
    /// (an unknown dataset has no shape here; `jobs.submit` answers not_found for it).
    private func trainingShape(_ request: V1.TrainRequest) -> TrainingShape {
        switch request.data {
        case .inlineData(let rows)?: return TrainingShape(rows)
        case .dataset(let name)?:
            return datasets.list().first { $0.name == name }.map(TrainingShape.init)
                ?? TrainingShape(
                    rows: 0,
                    features: 0,
                    outputs: 1
                )
        case .table?, nil: return TrainingShape(rows: 0, features: 0, outputs: 1)  // a table was encoded above
        }
    }

    /// WatchJob: the latest progress of a job at once (or its final state), then its events.
    func watchJob(_ request: V1.WatchJobRequest, subscriber: @escaping JobManager.Subscriber) throws -> JobSubscription
    {
        JobSubscription(job: request.jobId, id: try jobs.watch(request.jobId, subscriber: subscriber))
    }

    /// GetJob: one job's record.
    func getJob(_ request: V1.GetJobRequest, _ call: CallContext) throws -> V1.Job {
        try jobs.job(request.jobId)
    }

    /// ListJobs: every known job, newest first.
    func listJobs(_ request: V1.ListJobsRequest, _ call: CallContext) -> V1.ListJobsResponse {
        V1.ListJobsResponse(jobs: jobs.list())
    }

    /// CancelJob: cancels a job and answers once it has stopped.
    func cancelJob(_ request: V1.CancelJobRequest, _ call: CallContext) throws -> V1.Job {
        try jobs.cancelAndWait(request.jobId)
    }

    /// Stops delivering a job's events to a call that ended (the job goes on).
    func unsubscribe(_ subscription: JobSubscription) {
        jobs.unsubscribe(subscription.job, subscription.id)
    }
}
