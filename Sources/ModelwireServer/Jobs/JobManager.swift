import Foundation
import Logging
import ModelwireCodec
import ModelwireData
import ModelwireML
import ModelwireProtocol
import NIOPosix
import Synchronization

/// Training jobs: a queue, at most `maxConcurrentJobs` running on dedicated threads (never on an
/// event loop), progress fanned out to any number of watchers, records kept in
/// `<root>/.jobs/<id>.pb` (a `V1.Job`) so that a restart shows interrupted jobs as failed.
///
/// Over 300 lines on purpose: the queue, the runner, the fan-out to watchers and the records all
/// read and write one `Mutex`-protected `State`, and splitting them would spread that lock's
/// invariants over several files.
final class JobManager: Sendable {
    /// Receives a job's events: `event` for progress/accepted/result, `error` when it fails or is
    /// cancelled; `finished` on the last call. Called on the training thread or the caller's.
    typealias Subscriber = @Sendable (_ event: V1.TrainEvent?, _ error: ModelwireError?, _ finished: Bool) -> Void

    private struct Record {
        var job: V1.Job
        var request: V1.TrainRequest?
        /// The preprocessing a Train call's table was fitted with (stored with the model).
        var preprocessing: V1.Preprocessing?
        /// A job that is not a Train call (a transform): its body.
        var work: JobWork?
        /// Why a running job was asked to stop (nil: it was not); the error its subscribers get.
        var stopReason: ModelwireError?
        var subscribers: [UInt64: Subscriber] = [:]
        /// When a running job's record was last written with its progress (for other replicas' watchers).
        var progressPersisted = ContinuousClock.Instant.now
        /// The epochs so far of a Train job queued or running here (the console's curve); nil once
        /// it has ended (its model file keeps the history), for transform jobs (their progress
        /// comes as wire events) and for other replicas' jobs.
        var curve: TrainingHistory?
    }

    private struct State {
        var records: [String: Record] = [:]
        var queue: [String] = []
        var running = 0
        var nextSubscription: UInt64 = 1
        var accepting = true
    }

    private let directory: String
    private let repository: ModelRepository
    private let datasets: DatasetStore
    private let maxConcurrentJobs: Int
    /// Checked again when a job starts: a stored dataset may have been replaced (or the server
    /// restarted with lower caps) since the Train call was accepted.
    private let caps: TrainingCaps
    private let threads: NIOThreadPool
    private let logger: Logger
    private let state = Mutex(State())
    /// Signalled whenever a job ends (`cancelAndWait` waits on it instead of polling).
    private let jobEnded = NSCondition()
    /// Finished jobs kept in memory and on disk.
    private let historyLimit = 200

    /// This server's replica id: the owner of the jobs it runs.
    let replicaID: String
    /// Other replicas' job records as last read (file modification times), for `refresh`.
    private let foreignFiles = Mutex<[String: Date]>([:])

    init(
        root: String,
        repository: ModelRepository,
        datasets: DatasetStore,
        maxConcurrentJobs: Int,
        caps: TrainingCaps = .defaults,
        replicaID: String = ProcessInfo.processInfo.hostName,
        logger: Logger
    ) {
        self.caps = caps
        self.replicaID = replicaID
        self.directory = "\((root as NSString).standardizingPath)/.jobs"
        self.repository = repository
        self.datasets = datasets
        self.maxConcurrentJobs = max(1, maxConcurrentJobs)
        self.threads = NIOThreadPool(numberOfThreads: self.maxConcurrentJobs)
        self.logger = logger
        self.threads.start()
    }

    /// Reads the job records; this replica's jobs (and records without an owner) that were queued
    /// or running when it stopped become failed. Other replicas' jobs are theirs to settle.
    func load() throws {
        try DurableFiles.makeDirectory(directory)
        var records: [String: Record] = [:]
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where file.hasSuffix(".pb")
        {
            guard var job = try? V1.Job(serializedBytes: DurableFiles.read("\(directory)/\(file)")) else {
                logger.warning("jobs: \(file) is unreadable; skipped")
                continue
            }
            if job.state == .queued || job.state == .running, job.replica.isEmpty || job.replica == replicaID {
                job.state = .failed
                job.error = V1.Status(
                    code: .aborted,
                    message:
                        "interrupted: the server stopped while the job was \(job.state == .queued ? "queued" : "running")"
                )
                job.finishedUnixMs = Self.now()
                persist(job)
            }
            records[job.id] = Record(job: job)
        }
        state.withLock { $0.records = records }
    }

    /// Queues a training job.
    /// - Parameter subscriber: Receives the job's events from the `accepted` one on.
    /// - Returns: The job id and the subscription id (for `unsubscribe`).
    /// - Throws: `ModelwireError` for requests that cannot start (bad names, no data, unavailable while draining).
    /// - Parameter preprocessing: What the request's rows were encoded with, when they came as a table.
    func submit(
        _ request: V1.TrainRequest,
        preprocessing: V1.Preprocessing? = nil,
        subscriber: Subscriber?
    ) throws -> (job: String, subscription: UInt64) {
        try ResourceName.validate(request.model, "model")
        switch request.data {
        case .inlineData?, .table?: break
        case .dataset(let name)?: _ = try datasets.rows(named: name)
        case nil:
            throw ModelwireError(.invalidArgument, "the request has no training data (inline_data, dataset or table)")
        }
        _ = try ModelSpec(wire: request.spec)
        _ = try TrainingOptions(wire: request.options, defaultSeed: 0)
        return try enqueue(
            Record(
                job: newJob(model: request.model),
                request: request,
                preprocessing: preprocessing,
                curve: TrainingHistory()
            ),
            subscriber: subscriber
        )
    }

    /// The refusal of preprocessing options with numeric rows (they apply to tables only).
    static let preprocessingWithoutTable = ModelwireError(
        .invalidArgument,
        "preprocessing applies to rows sent as a table (table, or a dataset uploaded as one); these rows are numeric"
    )

    /// Queues a job that is not a Train call (a transform), run like one: the same queue, events,
    /// records and cancellation. `work.model` names the model it makes a version of.
    func submit(_ work: JobWork, subscriber: Subscriber?) throws -> (job: String, subscription: UInt64) {
        try enqueue(Record(job: newJob(model: work.model), work: work), subscriber: subscriber)
    }

    private func newJob(model: String) -> V1.Job {
        let id =
            "job-\(String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 16))-\(String(UInt32.random(in: 0 ... .max), radix: 16))"
        return V1.Job(id: id, model: model, state: .queued, createdUnixMs: Self.now(), replica: replicaID)
    }

    private func enqueue(_ record: Record, subscriber: Subscriber?) throws -> (job: String, subscription: UInt64) {
        let job = record.job
        let id = job.id
        let (subscription, position) = try state.withLock { (state) throws(ModelwireError) -> (UInt64, Int) in
            guard state.accepting else {
                throw ModelwireError(.unavailable, "the server is shutting down", retryAfterMilliseconds: 0)
            }
            var record = record
            let subscription = state.nextSubscription
            state.nextSubscription += 1
            if let subscriber { record.subscribers[subscription] = subscriber }
            state.records[id] = record
            state.queue.append(id)
            return (subscription, state.queue.count - 1 + state.running)
        }
        persist(job)
        subscriber?(
            V1.TrainEvent(jobId: id, event: .accepted(V1.JobAccepted(queuePosition: UInt32(position)))),
            nil,
            false
        )
        startQueuedJobs()
        return (id, subscription)
    }

    /// Reads the records of jobs other replicas run on the same repository (`--repository-poll-ms`),
    /// so that GetJob and ListJobs answer for them too; this replica's own records are left alone.
    func refresh() {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter {
            $0.hasSuffix(".pb")
        }
        var read: [V1.Job] = []
        var seen: [String: Date] = [:]
        let known = foreignFiles.withLock { $0 }
        for file in files {
            let path = "\(directory)/\(file)"
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            else { continue }
            seen[file] = modified
            guard known[file] != modified, let job = try? V1.Job(serializedBytes: DurableFiles.read(path)),
                job.replica != replicaID
            else { continue }
            read.append(job)
        }
        let gone = Set(known.keys).subtracting(seen.keys).map { String($0.dropLast(3)) }
        foreignFiles.withLock { $0 = seen }
        guard !read.isEmpty || !gone.isEmpty else { return }
        // Watchers here of another replica's job get what its record now says.
        var deliveries: [(V1.Job, progressed: Bool, [Subscriber])] = []
        state.withLock { state in
            for job in read {
                let old = state.records[job.id]
                let subscribers = old.map { Array($0.subscribers.values) } ?? []
                var record = Record(job: job)
                if !Self.isFinished(job.state) { record.subscribers = old?.subscribers ?? [:] }
                state.records[job.id] = record
                if !subscribers.isEmpty {
                    deliveries.append((job, job.lastProgress != old?.job.lastProgress, subscribers))
                }
            }
            for id in gone where state.records[id]?.job.replica != replicaID { state.records[id] = nil }
        }
        for (job, progressed, subscribers) in deliveries {
            if progressed, let progress = job.lastProgress {
                let event = V1.TrainEvent(jobId: job.id, event: .progress(progress))
                for s in subscribers { s(event, nil, false) }
            }
            if Self.isFinished(job.state) { for s in subscribers { Self.deliverFinal(job, to: s) } }
        }
    }

    private static func isFinished(_ state: V1.JobState) -> Bool { [.succeeded, .failed, .cancelled].contains(state) }

    /// Refuses to cancel a job another replica runs: only it can stop the training.
    private func ownedHere(_ job: V1.Job, _ action: String) -> ModelwireError? {
        guard !job.replica.isEmpty, job.replica != replicaID, !Self.isFinished(job.state)
        else { return nil }
        return ModelwireError(
            .failedPrecondition,
            "job \"\(job.id)\" runs on replica \"\(job.replica)\": \(action) it there (GetJob and WatchJob follow it here too)"
        )
    }

    /// Reattaches to a job's events: the latest progress at once (or the final state), then new events.
    /// Another replica's job is followed through its shared record, read every `--repository-poll-ms`:
    /// its owner writes the latest progress there at most once a second.
    func watch(_ jobID: String, subscriber: @escaping Subscriber) throws(ModelwireError) -> UInt64 {
        let outcome: Result<(UInt64?, V1.Job), ModelwireError> = state.withLock { state in
            guard var record = state.records[jobID] else {
                return .failure(ModelwireError(.notFound, "job \"\(jobID)\" does not exist"))
            }
            let finished = Self.isFinished(record.job.state)
            var subscription: UInt64?
            if !finished {
                subscription = state.nextSubscription
                state.nextSubscription += 1
                record.subscribers[subscription!] = subscriber
                state.records[jobID] = record
            }
            return .success((subscription, record.job))
        }
        let (subscription, job) = try outcome.get()
        if let progress = job.lastProgress {
            subscriber(V1.TrainEvent(jobId: jobID, event: .progress(progress)), nil, false)
        }
        if subscription == nil { Self.deliverFinal(job, to: subscriber) }
        return subscription ?? 0
    }

    /// Stops delivering events to a subscription (the job goes on).
    func unsubscribe(_ jobID: String, _ subscription: UInt64) {
        state.withLock { _ = $0.records[jobID]?.subscribers.removeValue(forKey: subscription) }
    }

    /// Cancels a queued or running job. Returns the job (its final state if it had already ended).
    /// - Parameter reason: What the job's followers are told; by default that it was cancelled.
    func cancel(
        _ jobID: String,
        reason: ModelwireError = ModelwireError(.cancelled, "the job was cancelled")
    ) throws(ModelwireError) -> V1.Job {
        let outcome: Result<(V1.Job, Bool), ModelwireError> = state.withLock { state in
            guard var record = state.records[jobID] else {
                return .failure(ModelwireError(.notFound, "job \"\(jobID)\" does not exist"))
            }
            if let refusal = ownedHere(record.job, "cancel") { return .failure(refusal) }
            switch record.job.state {
            case .queued:
                state.queue.removeAll { $0 == jobID }
                record.job.state = .cancelled
                record.job.error = V1.Status(code: reason.code, message: "\(reason.message) before it started")
                record.job.finishedUnixMs = Self.now()
                record.request = nil
                record.work = nil
                record.curve = nil
                state.records[jobID] = record
                return .success((record.job, true))
            case .running:
                if record.stopReason == nil { record.stopReason = reason }
                state.records[jobID] = record
                return .success((record.job, false))
            default:
                return .success((record.job, false))
            }
        }
        let (job, endedNow) = try outcome.get()
        if endedNow {
            persist(job)
            finish(jobID)
        }
        return job
    }

    /// Stops every queued and running job because the server is shutting down: their followers
    /// get UNAVAILABLE saying so (a running one at its next batch boundary), and they are
    /// recorded as cancelled. New jobs are refused from here on.
    func stopForShutdown() {
        let ids = state.withLock { state -> [String] in
            state.accepting = false
            return state.records.values.filter {
                ($0.job.state == .queued || $0.job.state == .running) && ownedHere($0.job, "stop") == nil
            }.map(\.job.id)
        }
        let reason = ModelwireError(.unavailable, "the server is shutting down: the job was stopped; train again")
        for id in ids { _ = try? cancel(id, reason: reason) }
    }

    /// Cancels a job and waits (blocking, on a worker thread) until a running one has stopped at its
    /// next batch boundary, so the answer shows the final state; gives up waiting after `timeout`.
    func cancelAndWait(_ jobID: String, timeout: Duration = .seconds(10)) throws(ModelwireError) -> V1.Job {
        _ = try cancel(jobID)
        let deadline = Date().addingTimeInterval(
            Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18
        )
        jobEnded.lock()
        defer { jobEnded.unlock() }
        var job = try self.job(jobID)  // read under the condition's lock: an end signalled before this is not missed
        while job.state == .running, jobEnded.wait(until: deadline) {
            job = try self.job(jobID)
        }
        return try self.job(jobID)
    }

    /// A job by id.
    func job(_ jobID: String) throws(ModelwireError) -> V1.Job {
        guard let job = state.withLock({ $0.records[jobID]?.job }) else {
            throw ModelwireError(.notFound, "job \"\(jobID)\" does not exist")
        }
        return job
    }

    /// The epochs so far of a job queued or running on this replica; nil for any other job.
    func curve(_ jobID: String) -> [TrainingEpoch]? {
        state.withLock { $0.records[jobID]?.curve?.epochs }
    }

    /// Every known job, newest first.
    func list() -> [V1.Job] {
        state.withLock { $0.records.values.map(\.job) }.sorted { ($0.createdUnixMs, $0.id) > ($1.createdUnixMs, $1.id) }
    }

    /// Counts for health: (running, queued).
    var counts: (running: Int, queued: Int) { state.withLock { ($0.running, $0.queue.count) } }

    /// Stops accepting jobs and cancels queued and running ones; returns when the threads are done.
    func shutdown() async {
        stopForShutdown()
        try? await threads.shutdownGracefully()
    }

    // MARK: - Running

    private func startQueuedJobs() {
        while let id = state.withLock({ state -> String? in
            guard state.running < maxConcurrentJobs, !state.queue.isEmpty else { return nil }
            state.running += 1
            let id = state.queue.removeFirst()
            state.records[id]?.job.state = .running
            state.records[id]?.job.startedUnixMs = Self.now()
            return id
        }) {
            if let job = state.withLock({ $0.records[id]?.job }) { persist(job) }
            threads.submit { [self] workState in
                guard case .active = workState else {
                    self.complete(id, outcome: .failure(ModelwireError(.cancelled, "the server is shutting down")))
                    return
                }
                self.run(id)
            }
        }
    }

    private func run(_ id: String) {
        if let work = state.withLock({ $0.records[id]?.work }) { return run(id, work) }
        guard let request = state.withLock({ $0.records[id]?.request }) else { return }
        let started = Date()
        let outcome: Result<V1.TrainResult, ModelwireError>
        do {
            var preprocessing = state.withLock { $0.records[id]?.preprocessing }
            let wireData: V1.Dataset
            switch request.data {
            case .inlineData(let d)?: wireData = d
            case .dataset(let name)?:
                switch try datasets.rows(named: name) {
                case .dataset(let d):
                    guard request.preprocessing == nil else { throw Self.preprocessingWithoutTable }
                    wireData = d
                case .table(let table):
                    (wireData, preprocessing) = try TableRows.fit(
                        table,
                        spec: request.preprocessing,
                        task: request.spec?.task ?? .classification
                    )
                }
            case .table(let table)?:
                (wireData, preprocessing) = try TableRows.fit(
                    table,
                    spec: request.preprocessing,
                    task: request.spec?.task ?? .classification
                )
            case nil: wireData = V1.Dataset()
            }
            try request.checkConsistency(rows: wireData)
            try wireData.checkClassLabelsAreCategorical()
            try request.checkResourceCaps(caps, shape: TrainingShape(wireData))
            let dataset = try Dataset(wire: wireData)
            let seed = request.options?.seed ?? UInt64.random(in: 0...UInt64(UInt32.max))
            let options = try TrainingOptions(wire: request.options, defaultSeed: seed)
            let spec = try ModelSpec(wire: request.spec)
            let trained: TrainedModel
            do {
                trained = try Trainer.train(
                    spec: spec,
                    options: options,
                    dataset: dataset,
                    progress: { [self] p in self.publish(id, progress: p) },
                    isCancelled: { [self] in self.stopRequested(id) }
                )
            } catch {
                guard error.code == .cancelled else {
                    throw ModelwireError(.invalidArgument, "training failed: \(error.message)")
                }
                throw state.withLock { $0.records[id]?.stopReason }
                    ?? ModelwireError(.cancelled, "the job was cancelled")
            }
            let evaluation = try trained.evaluate(dataset).wire(
                rows: dataset.rows,
                classNames: trained.snapshot.classNames
            )
            var file = V1.ModelFile(
                snapshot: trained.snapshot,
                name: request.model,
                version: 0,
                createdUnixMs: 0,
                spec: request.spec,
                options: request.options,
                evaluation: evaluation
            )
            file.preprocessing = preprocessing
            let entry = try repository.store(file, name: request.model)
            outcome = .success(
                V1.TrainResult(
                    model: entry.name,
                    version: entry.version,
                    metrics: evaluation,
                    epochsRun: UInt32(trained.snapshot.training.epochsRun),
                    earlyStopped: trained.snapshot.training.earlyStopped,
                    seed: options.seed,
                    durationSeconds: Float(Date().timeIntervalSince(started))
                )
            )
        } catch {
            outcome = .failure(ModelwireError(mapping: error, logger: logger, operation: "job \(id)"))
        }
        complete(id, outcome: outcome)
    }

    private func run(_ id: String, _ work: JobWork) {
        let outcome: Result<V1.TrainResult, ModelwireError>
        do {
            outcome = .success(
                try work.run({ [self] p in self.publish(id, progress: p) }, { [self] in self.stopRequested(id) })
            )
        } catch let error as TrainingError where error.code == .cancelled {
            outcome = .failure(
                state.withLock { $0.records[id]?.stopReason } ?? ModelwireError(.cancelled, "the job was cancelled")
            )
        } catch let error as TrainingError {
            // What the request asked cannot be done with these rows or this model (as for Train).
            outcome = .failure(ModelwireError(.invalidArgument, "the job failed: \(error.message)"))
        } catch let error as DatasetError {
            outcome = .failure(ModelwireError(.invalidArgument, "the job failed: \(error.message)"))
        } catch {
            outcome = .failure(ModelwireError(mapping: error, logger: logger, operation: "job \(id)"))
        }
        complete(id, outcome: outcome)
    }

    /// Whether a running job was asked to stop (checked between batches).
    private func stopRequested(_ id: String) -> Bool {
        state.withLock { $0.records[id].map { $0.stopReason != nil } ?? true }
    }

    /// A Train job's progress: kept in its curve, then published.
    private func publish(_ id: String, progress report: TrainingProgress) {
        state.withLock { _ = $0.records[id]?.curve?.record(report) }  // in place: a copy would copy the history
        publish(id, progress: V1.TrainProgress(report))
    }

    private func publish(_ id: String, progress: V1.TrainProgress) {
        let (subscribers, record) = state.withLock { state -> ([Subscriber], V1.Job?) in
            guard var record = state.records[id] else { return ([], nil) }
            record.job.lastProgress = progress
            let now = ContinuousClock.Instant.now
            let due = record.progressPersisted.duration(to: now) >= .seconds(1)
            if due { record.progressPersisted = now }
            state.records[id] = record
            return (Array(record.subscribers.values), due ? record.job : nil)
        }
        // On the job's own thread, before `complete` writes the final record: never after it.
        if let record { persist(record) }
        let event = V1.TrainEvent(jobId: id, event: .progress(progress))
        for s in subscribers { s(event, nil, false) }
    }

    private func complete(_ id: String, outcome: Result<V1.TrainResult, ModelwireError>) {
        let job = state.withLock { state -> V1.Job? in
            state.running -= 1
            guard var record = state.records[id] else { return nil }
            switch outcome {
            case .success(let result):
                record.job.state = .succeeded
                record.job.result = result
            case .failure(let error):
                record.job.state = error.code == .cancelled || record.stopReason != nil ? .cancelled : .failed
                record.job.error = error.status
            }
            record.job.finishedUnixMs = Self.now()
            record.request = nil
            record.work = nil
            record.curve = nil
            state.records[id] = record
            return record.job
        }
        if let job { persist(job) }
        jobEnded.lock()
        jobEnded.broadcast()
        jobEnded.unlock()
        finish(id)
        pruneHistory()
        startQueuedJobs()
    }

    /// Sends the final event to every subscriber and drops them.
    private func finish(_ id: String) {
        let (job, subscribers) = state.withLock { state -> (V1.Job?, [Subscriber]) in
            let subscribers = state.records[id].map { Array($0.subscribers.values) } ?? []
            state.records[id]?.subscribers = [:]
            return (state.records[id]?.job, subscribers)
        }
        guard let job else { return }
        for s in subscribers { Self.deliverFinal(job, to: s) }
    }

    private static func deliverFinal(_ job: V1.Job, to subscriber: Subscriber) {
        if job.state == .succeeded, let result = job.result {
            subscriber(V1.TrainEvent(jobId: job.id, event: .result(result)), nil, true)
        } else {
            subscriber(
                nil,
                ModelwireError(status: job.error ?? V1.Status(code: .unknown, message: "job \(job.id) ended")),
                true
            )
        }
    }

    private func pruneHistory() {
        let removed = state.withLock { state -> [String] in
            let finished = state.records.values.filter { Self.isFinished($0.job.state) }
                .sorted { $0.job.createdUnixMs > $1.job.createdUnixMs }
            guard finished.count > historyLimit else { return [] }
            let old = finished[historyLimit...].map(\.job.id)
            for id in old { state.records[id] = nil }
            return old
        }
        for id in removed { try? FileManager.default.removeItem(atPath: "\(directory)/\(id).pb") }
    }

    private func persist(_ job: V1.Job) {
        do {
            try DurableFiles.write(try job.serializedBytes(), to: "\(directory)/\(job.id).pb")
        } catch {
            logger.error("jobs: could not record \(job.id): \(error)")
        }
    }

    private static func now() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}

/// The body of a job that is not a Train call (a transform), run on a job thread.
struct JobWork: Sendable {
    /// The model the job makes a version of (the job record's `model`).
    let model: String
    /// Does the work: reports progress, checks `isCancelled` between batches (throwing
    /// `TrainingError.cancelled` when it says so), and returns the job's result.
    let run:
        @Sendable (
            _ progress: @escaping (V1.TrainProgress) -> Void, _ isCancelled: @escaping () -> Bool
        ) throws -> V1.TrainResult
}
